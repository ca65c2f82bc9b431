"""Benchmark candidates that run ONNX files through ONNX Runtime: ganedge's runtime, or plain ORT.

The "ganedge" candidate is :class:`ganedge.GeneratorModel` itself, timed through ``generate``:
the same session options and the same IO-binding runner that ``ganedge sample`` uses.

Example:
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge import providers as prov
from ganedge.bench.graphstats import GraphStats, graph_stats
from ganedge.bench.timing import Candidate, RunFn
from ganedge.contract import KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import GanEdgeError, InputError, ProviderError
from ganedge.session import ORT_DEFAULTS, SessionSettings, create_session
from ganedge.stylegan import idle_feeds


def _metadata(path: Path) -> dict[str, str]:
    session = create_session(path, [prov.CPU], None, ORT_DEFAULTS)
    return dict(session.get_modelmeta().custom_metadata_map)


def model_contract(path: str | Path, latent_dim: int | None = None) -> ModelContract:
    """A model file's contract, checked against its graph as ganedge.load checks it; with
    ``latent_dim``, the contract of a third-party generator (raises a GanEdgeError subclass)."""
    from ganedge.runtime import GeneratorModel

    return GeneratorModel(path, provider="cpu", latent_dim=latent_dim).contract


def _graph_stats(path: Path) -> GraphStats | None:
    try:
        return graph_stats(path)
    except GanEdgeError:  # onnx not installed, or shapes not inferable: GFLOP/s shown as unknown
        return None


def _precision(metadata: dict[str, str], stats: GraphStats | None) -> str:
    """From the exporter's provenance when it says, else from the graph, else fp32."""
    recorded = read_json_metadata(metadata, KEY_PROVENANCE)
    if "precision" in recorded:
        return str(recorded["precision"])
    return stats.precision if stats is not None else "fp32"


@dataclass(frozen=True)
class OnnxStarter:
    """Builds the runner of an ONNX candidate inside the worker process (picklable)."""

    path: Path
    provider: str  # "cpu" | "cuda" | "openvino"
    settings: SessionSettings
    plain: bool  # plain ``session.run`` on ORT's defaults, as a user of bare ONNX Runtime would
    contract: ModelContract  # read and checked once, outside the timed cold start
    latent_dim: int | None = None  # a third-party generator's latent size (no ganedge contract)

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        if self.plain:
            return self._plain()
        from ganedge.runtime import GeneratorModel

        gen = GeneratorModel(self.path, provider=self.provider, settings=self.settings,
                             strict_provider=True, latent_dim=self.latent_dim)
        labels = np.zeros(batch, np.int64) if gen.contract.conditional else None
        return (lambda z: gen.generate(z, labels)), gen.providers[0]

    def _plain(self) -> tuple[RunFn, str]:
        requested = prov.requested_providers(self.provider)
        session = create_session(self.path, requested, None, self.settings)
        used = session.get_providers()[0]
        if used != requested[0]:
            raise ProviderError(f"session runs on {used}: {prov.fallback_cause()}",
                                param="provider")
        contract = self.contract

        def run(z: np.ndarray) -> np.ndarray:
            feeds = {contract.input_name: z}
            if contract.conditional:
                feeds[contract.label_input_name] = np.zeros(z.shape[0], np.int64)
            if contract.is_stylegan:  # mapping, then synthesis, each with the other half idle
                (ws,) = session.run([contract.ws_output_name],
                                    {**feeds, **idle_feeds(contract, "mapping")})
                feeds = {contract.ws_input_name: ws, **idle_feeds(contract, "synthesis")}
            return session.run([contract.output_name], feeds)[0]

        return run, used


@dataclass(frozen=True)
class FailedStarter:
    """The starter of a candidate that could not even be set up: its rows carry ``reason``."""

    reason: str

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        raise InputError(self.reason)


def onnx_candidate(path: str | Path, provider: str, *, label: str = "ganedge",
                   settings: SessionSettings = SessionSettings(), plain: bool = False,
                   reference: bool = False, precision: str | None = None,
                   latent_dim: int | None = None) -> Candidate:
    """Run ``path`` through ganedge's runtime on ``provider`` ("cpu" | "cuda" | "openvino") with
    ``settings``, or with ``plain`` through a bare ``session.run``. ``latent_dim``: for a
    third-party generator without a ganedge contract."""
    path = Path(path)
    metadata = _metadata(path)
    contract = model_contract(path, latent_dim)  # an unreadable contract fails here, as a ✗ row
    stats = _graph_stats(path)
    prov.requested_providers(provider)
    return Candidate(label=label, model=path.name,
                     precision=precision or _precision(metadata, stats), provider=provider,
                     start=OnnxStarter(path.resolve(), provider, settings, plain, contract,
                                       latent_dim),
                     flops_per_image=stats.flops_per_image if stats else None,
                     size_mb=path.stat().st_size / 1e6, reference=reference)


def default_providers(model: str | Path) -> list[str]:
    """"cpu", plus "cuda" when a session on ``model`` really runs on the CUDA provider."""
    if prov.CUDA not in ort.get_available_providers():
        return ["cpu"]
    try:
        session = create_session(Path(model), [prov.CUDA, prov.CPU], None)
    except GanEdgeError:
        return ["cpu"]
    return ["cpu", "cuda"] if session.get_providers()[0] == prov.CUDA else ["cpu"]


def failed_candidate(label: str, model: str | Path, provider: str, reason: str) -> Candidate:
    """A candidate that could not even be set up: it still gets its ✗ row, with ``reason``."""
    return Candidate(label=label, model=Path(model).name, precision="?", provider=provider,
                     start=FailedStarter(reason))


def model_candidates(paths: Sequence[str | Path], providers: Sequence[str],
                     ort_defaults: bool = False,
                     settings: SessionSettings = SessionSettings(),
                     latent_dim: int | None = None) -> list[Candidate]:
    """ganedge's runtime for every model × provider; the first model on the first provider
    is the parity reference. ``ort_defaults`` adds plain-ORT rows to compare against. A model
    that cannot be read still gets its rows, marked failed."""
    candidates = []
    for i, path in enumerate(paths):
        for j, provider in enumerate(providers):
            variants = [("ganedge", settings, False)]
            if provider == "cuda":  # CUDA graphs replay a captured launch sequence per batch size
                variants.append(("ganedge cuda-graph", replace(settings, cuda_graph=True), False))
            if ort_defaults and provider != "openvino":  # plain ORT has no OpenVINO to compare
                variants.append(("ort default", ORT_DEFAULTS, True))
            for label, chosen, plain in variants:
                try:
                    candidates.append(onnx_candidate(path, provider, label=label, settings=chosen,
                                                     plain=plain, latent_dim=latent_dim,
                                                     reference=(i == j == 0 and not plain)))
                except GanEdgeError as exc:
                    candidates.append(failed_candidate(label, path, provider, str(exc)))
    return candidates
