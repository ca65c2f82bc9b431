"""Benchmark candidates that run ONNX files through ONNX Runtime, tuned (ganedge) or plain.

Example:
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge import providers as prov
from ganedge.bench import Candidate, RunFn
from ganedge.contract import KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import GanEdgeError, InputError, ProviderError
from ganedge.graphstats import GraphStats, graph_stats
from ganedge.iobinding import BoundRunner
from ganedge.session import ORT_DEFAULTS, SessionSettings, create_session


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


def onnx_candidate(path: str | Path, provider: str, *, label: str = "ganedge",
                   settings: SessionSettings = SessionSettings(), io_binding: bool = True,
                   reference: bool = False, precision: str | None = None,
                   latent_dim: int | None = None) -> Candidate:
    """Run ``path`` through ONNX Runtime on ``provider`` ("cpu" | "cuda") with ``settings``.

    ``io_binding`` runs through :class:`BoundRunner` (buffers reused); otherwise plain
    ``session.run``, as a user of ORT's defaults would. ``latent_dim``: for a third-party
    generator without a ganedge contract.
    """
    path = Path(path)
    metadata = _metadata(path)
    contract = model_contract(path, latent_dim)
    stats = _graph_stats(path)
    requested = prov.requested_providers(provider)

    def start(batch: int) -> tuple[RunFn, str]:
        session = create_session(path, requested, None, settings)
        used = session.get_providers()[0]
        if used != requested[0]:
            raise ProviderError(f"--provider {provider}: session runs on {used}: {prov.fallback_cause()}")
        label_name = contract.label_input_name if contract.conditional else None
        if io_binding:
            device = "cuda" if used == prov.CUDA else "cpu"
            return BoundRunner(session, contract.input_name, contract.output_name, device,
                               label_name=label_name), used
        return _plain_runner(session, contract, label_name), used

    return Candidate(label=label, model=path.name,
                     precision=precision or _precision(metadata, stats), provider=provider,
                     start=start, flops_per_image=stats.flops_per_image if stats else None,
                     reference=reference)


def _plain_runner(session: ort.InferenceSession, contract: ModelContract,
                  label_name: str | None) -> RunFn:
    def run(z: np.ndarray) -> np.ndarray:
        feeds = {contract.input_name: z}
        if label_name is not None:
            feeds[label_name] = np.zeros(z.shape[0], np.int64)
        return session.run([contract.output_name], feeds)[0]

    return run


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

    def start(batch: int) -> tuple[RunFn, str]:
        raise InputError(reason)

    return Candidate(label=label, model=Path(model).name, precision="?", provider=provider,
                     start=start)


def model_candidates(paths: Sequence[str | Path], providers: Sequence[str],
                     ort_defaults: bool = False,
                     settings: SessionSettings = SessionSettings(),
                     latent_dim: int | None = None) -> list[Candidate]:
    """ganedge's tuned runner for every model × provider; the first model on the first provider
    is the parity reference. ``ort_defaults`` adds plain-ORT rows to compare against. A model
    that cannot be read still gets its rows, marked failed."""
    candidates = []
    for i, path in enumerate(paths):
        for j, provider in enumerate(providers):
            variants = [("ganedge", settings, True)]
            if provider == "cuda":  # CUDA graphs replay a captured launch sequence per batch size
                variants.append(("ganedge cuda-graph", replace(settings, cuda_graph=True), True))
            if ort_defaults:
                variants.append(("ort default", ORT_DEFAULTS, False))
            for label, chosen, binding in variants:
                try:
                    candidates.append(onnx_candidate(path, provider, label=label, settings=chosen,
                                                     io_binding=binding,
                                                     reference=(i == j == 0 and binding),
                                                     latent_dim=latent_dim))
                except GanEdgeError as exc:
                    candidates.append(failed_candidate(label, path, provider, str(exc)))
    return candidates
