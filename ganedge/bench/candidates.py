"""Benchmark candidates that run ONNX files: ganedge's runtime, and plain ONNX Runtime to compare.

A "ganedge" candidate is :class:`ganedge.GeneratorModel` itself, built by :func:`load_model` with
the settings it names and timed through ``generate`` (or ``sample``): the runner ``ganedge
sample`` uses, StyleGAN's mapping → truncation → synthesis included, so a speed fix in the
runtime shows here and nothing is timed that users do not run. The one other ONNX candidate is
the reference a user of bare ONNX Runtime would write: ``ort.InferenceSession(path).run`` on
ORT's defaults (:class:`PlainOrtReference`).

Example:
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from ganedge.bench.graphstats import GraphStats, graph_stats
from ganedge.bench.timing import Candidate, RunFn
from ganedge.contract import ModelContract
from ganedge.errors import GanEdgeError, InputError, ProviderError
from ganedge.runtime import providers as prov
from ganedge.runtime.session import SessionSettings

if TYPE_CHECKING:
    from ganedge.runtime.model import GeneratorModel

STYLEGAN_TRUNCATION = 0.7  # the ψ a StyleGAN model is benchmarked at: the truncation path runs too
APIS = ("generate", "sample")  # what a ganedge candidate calls: float output, or uint8 pixels
PLAIN_LABEL = "plain ORT"  # the PlainOrtReference rows


def load_model(path: str | Path, provider: str, *, settings: SessionSettings = SessionSettings(),
               latent_dim: int | None = None) -> GeneratorModel:
    """A model loaded as ``ganedge.load`` loads it, with ``settings``; it must really run on
    ``provider`` (raises a GanEdgeError subclass). Every ganedge candidate is built here."""
    from ganedge.runtime.model import GeneratorModel

    return GeneratorModel(path, provider=provider, settings=settings, strict_provider=True,
                          latent_dim=latent_dim)


def model_contract(path: str | Path, latent_dim: int | None = None) -> ModelContract:
    """A model file's contract, checked against its graph as ganedge.load checks it; with
    ``latent_dim``, the contract of a third-party generator (raises a GanEdgeError subclass)."""
    return load_model(path, "cpu", latent_dim=latent_dim).contract


def default_truncation(contract: ModelContract) -> float:
    """ψ for a benchmark of this model: STYLEGAN_TRUNCATION for StyleGAN, else none (1.0)."""
    return STYLEGAN_TRUNCATION if contract.is_stylegan else 1.0


def _graph_stats(path: Path) -> GraphStats | None:
    try:
        return graph_stats(path)
    except GanEdgeError:  # onnx not installed, or shapes not inferable: GFLOP/s shown as unknown
        return None


def _precision(provenance: dict, stats: GraphStats | None) -> str:
    """From the exporter's provenance when it says, else from the graph, else fp32."""
    if "precision" in provenance:
        return str(provenance["precision"])
    return stats.precision if stats is not None else "fp32"


@dataclass(frozen=True)
class GanedgeStarter:
    """Builds a ganedge candidate's runner inside the worker process (picklable): the model
    through :func:`load_model`, timed through ``generate(z, labels, truncation)`` or, for
    ``api="sample"``, ``sample(seeds, …)``: uint8 pixels, what ``ganedge sample`` writes."""

    path: Path
    provider: str  # "cpu" | "cuda" | "openvino"
    settings: SessionSettings
    truncation: float = 1.0
    api: str = "generate"  # one of APIS
    latent_dim: int | None = None  # a third-party generator's latent size (no ganedge contract)

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        gen = load_model(self.path, self.provider, settings=self.settings,
                         latent_dim=self.latent_dim)
        labels = np.zeros(batch, np.int64) if gen.contract.conditional else None
        psi = self.truncation
        if self.api == "sample":
            # the seeds whose latents the benchmark feeds
            # (ganedge.sampling.latents.latents_for_seeds)
            seeds = range(batch)
            return (lambda z: gen.sample(seeds, truncation=psi, labels=labels,
                                         batch_size=batch)), gen.providers[0]
        return (lambda z: gen.generate(z, labels, truncation=psi)), gen.providers[0]


@dataclass(frozen=True)
class PlainOrtReference:
    """The reference candidate: ``ort.InferenceSession(path, providers=[…]).run`` on ONNX
    Runtime's own defaults, nothing of ganedge's runtime, as a user of bare ONNX Runtime would
    write it. A StyleGAN graph runs whole, twice, at the same batch (once for ws, truncated in
    numpy, once for the images), so no input changes shape between calls."""

    path: Path
    provider: str  # "cpu" | "cuda"
    contract: ModelContract  # read and checked once, outside the timed cold start
    truncation: float = 1.0

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        requested = prov.requested_providers(self.provider)
        session = ort.InferenceSession(str(self.path), providers=requested)
        used = session.get_providers()[0]
        if used != requested[0]:
            raise ProviderError(f"session runs on {used}: {prov.fallback_cause()}",
                                param="provider")
        c, psi = self.contract, np.float32(self.truncation)
        extra = {c.label_input_name: np.zeros(batch, np.int64)} if c.conditional else {}
        if not c.is_stylegan:
            return (lambda z: session.run([c.output_name],
                                          {c.input_name: z * psi if psi != 1 else z, **extra})[0]
                    ), used
        w_avg = np.asarray(c.w_avg, np.float32)
        no_ws = np.zeros((batch, c.num_ws, c.w_dim), np.float32)

        def run(z: np.ndarray) -> np.ndarray:
            (ws,) = session.run([c.ws_output_name], {c.input_name: z, c.ws_input_name: no_ws,
                                                     **extra})
            ws = w_avg + psi * (ws - w_avg) if psi != 1 else ws
            return session.run([c.output_name], {c.input_name: z, c.ws_input_name: ws,
                                                 **extra})[0]

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
                   latent_dim: int | None = None, truncation: float | None = None,
                   api: str = "generate") -> Candidate:
    """Run ``path`` through ganedge's runtime on ``provider`` ("cpu" | "cuda" | "openvino") with
    ``settings``, calling ``api`` ("generate", or "sample" for uint8 pixels), or with ``plain``
    as :class:`PlainOrtReference`. ``truncation``: ψ (default :func:`default_truncation`).
    ``latent_dim``: for a third-party generator without a ganedge contract."""
    if api not in APIS:
        raise InputError(f"must be one of {list(APIS)} (got {api!r})", param="api")
    path = Path(path)
    gen = load_model(path, "cpu", latent_dim=latent_dim)  # an unreadable model fails here: a ✗ row
    contract = gen.contract
    psi = default_truncation(contract) if truncation is None else truncation
    stats = _graph_stats(path)
    prov.requested_providers(provider)
    start: GanedgeStarter | PlainOrtReference = (
        PlainOrtReference(path.resolve(), provider, contract, psi) if plain
        else GanedgeStarter(path.resolve(), provider, settings, psi, api, latent_dim))
    return Candidate(label=label, model=path.name,
                     precision=precision or _precision(gen.provenance, stats), provider=provider,
                     start=start, flops_per_image=stats.flops_per_image if stats else None,
                     size_mb=path.stat().st_size / 1e6, reference=reference,
                     uint8_output=api == "sample" or contract.output_dtype == "uint8")


def default_providers(model: str | Path) -> list[str]:
    """"cpu", plus "cuda" when a model loaded on CUDA really runs there."""
    if prov.CUDA not in ort.get_available_providers():
        return ["cpu"]
    try:
        load_model(model, "cuda")
    except GanEdgeError:
        return ["cpu"]
    return ["cpu", "cuda"]


def failed_candidate(label: str, model: str | Path, provider: str, reason: str) -> Candidate:
    """A candidate that could not even be set up: it still gets its ✗ row, with ``reason``."""
    return Candidate(label=label, model=Path(model).name, precision="?", provider=provider,
                     start=FailedStarter(reason))


def model_candidates(paths: Sequence[str | Path], providers: Sequence[str], *,
                     ort_defaults: bool = False,
                     settings: SessionSettings = SessionSettings(),
                     latent_dim: int | None = None,
                     truncation: float | None = None) -> list[Candidate]:
    """ganedge's runtime for every model × provider; the first model on the first provider
    is the parity reference. ``ort_defaults`` adds :class:`PlainOrtReference` rows to compare
    against. A model that cannot be read still gets its rows, marked failed."""
    candidates = []
    for i, path in enumerate(paths):
        for j, provider in enumerate(providers):
            variants = [("ganedge", settings, False)]
            if provider == "cuda":  # CUDA graphs replay a captured launch sequence per batch size
                variants.append(("ganedge cuda-graph", replace(settings, cuda_graph=True), False))
            if ort_defaults and provider != "openvino":  # plain ORT has no OpenVINO to compare
                variants.append((PLAIN_LABEL, settings, True))
            for label, chosen, plain in variants:
                try:
                    candidates.append(onnx_candidate(path, provider, label=label, settings=chosen,
                                                     plain=plain, latent_dim=latent_dim,
                                                     truncation=truncation,
                                                     reference=(i == j == 0 and not plain)))
                except GanEdgeError as exc:
                    candidates.append(failed_candidate(label, path, provider, str(exc)))
    return candidates
