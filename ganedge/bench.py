"""Latency measurement and its report: one row per way-to-run × batch size, timed side by side.

A :class:`Candidate` is one way to run a generator (a model file on a provider with given session
settings, or PyTorch eager on the checkpoint). For every batch size all candidates are started
(cold start = building the runner + its first call), warmed up, then timed in interleaved rounds
until each has spent its time budget, so machine noise hits every candidate alike. A candidate
that fails still yields a row, with status "failed" and the reason.

Example:
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
    >>> print(render_table(rows))                                                     # doctest: +SKIP
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ganedge import providers as prov
from ganedge.contract import KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import ConfigError, GanEdgeError, InputError, ProviderError
from ganedge.graphstats import graph_stats
from ganedge.imaging import to_uint8_nhwc
from ganedge.iobinding import BoundRunner
from ganedge.latents import latents_for_seeds
from ganedge.session import ORT_DEFAULTS, SessionSettings, create_session, physical_cores

SCHEMA = "ganedge.bench/1"
DEFAULT_BATCHES = (1, 8, 64)
OK, FAILED = "ok", "failed"

RunFn = Callable[[np.ndarray], np.ndarray]
"""(B, latent_dim) float32 latents → float (B, C, H, W) in [-1, 1] or uint8 (B, H, W, C)."""


@dataclass(frozen=True)
class BenchConfig:
    """How long and how often each row is timed."""

    batches: tuple[int, ...] = DEFAULT_BATCHES  # batch sizes, one row each
    budget_s: float = 1.0  # timed seconds per row (after warm-up), shared out in rounds
    warmup_s: float = 0.2  # untimed seconds of calls before timing (at least WARMUP_CALLS)
    round_s: float = 0.05  # seconds one candidate runs before the next takes its turn
    min_reps: int = 5  # timed calls per row even when the budget is spent
    max_reps: int = 5000  # cap on timed calls per row (tiny models at batch 1)

    def __post_init__(self) -> None:
        if not self.batches or min(self.batches) < 1:
            raise InputError(f"--batch: every batch size must be at least 1 (got {list(self.batches)})")
        if self.budget_s <= 0:
            raise InputError(f"--budget: must be positive seconds per row (got {self.budget_s})")
        if self.warmup_s < 0 or self.round_s <= 0:
            raise ConfigError(f"warmup_s/round_s: must be >= 0 / > 0 (got {self.warmup_s}, {self.round_s})")
        if not 1 <= self.min_reps <= self.max_reps:
            raise ConfigError(f"min_reps/max_reps: need 1 <= min <= max (got {self.min_reps}, {self.max_reps})")


WARMUP_CALLS = 3


@dataclass(frozen=True)
class Candidate:
    """One way to run a generator, timed against the others."""

    label: str  # row name, e.g. "ganedge", "ort default", "torch eager"
    model: str  # file the weights come from (shown by name)
    precision: str  # fp32 | fp16 | int8 | bf16
    provider: str  # what was asked for: "cpu", "cuda", "torch-cpu"
    start: Callable[[int], tuple[RunFn, str]]  # batch → (runner, provider actually used)
    flops_per_image: int | None = None  # 2 × MACs per image, None when unknown
    reference: bool = False  # its output is the fp32 truth every row's parity is measured against
    baseline: bool = False  # the row every other row's speed-up is measured against


@dataclass(frozen=True)
class BenchRow:
    """The measurement of one candidate at one batch size."""

    label: str
    model: str
    precision: str
    provider: str  # requested
    provider_used: str  # what really ran ("" when it failed before running)
    batch: int
    status: str  # "ok" or "failed"
    reason: str = ""  # why it failed, one line
    cold_start_ms: float | None = None  # runner creation + first call
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    reps: int = 0  # timed calls
    images_per_s: float | None = None  # batch / p50
    gflops_per_s: float | None = None  # FLOPs per image × batch / p50, when FLOPs are known
    parity_max_abs: float | None = None  # max |output − fp32 reference| on the [-1, 1] scale
    speedup: float | None = None  # baseline p50 / this p50 at the same batch size


@dataclass
class _Live:
    """A started candidate while its batch is being timed."""

    candidate: Candidate
    run: RunFn
    provider_used: str
    cold_s: float
    output: np.ndarray
    samples: list[float] = field(default_factory=list)
    error: str = ""


def run_bench(candidates: Sequence[Candidate], latent_dim: int, config: BenchConfig = BenchConfig(),
              on_row: Callable[[BenchRow], None] | None = None) -> list[BenchRow]:
    """Time every candidate at every batch size of ``config``; one row each, failures included."""
    rows: list[BenchRow] = []
    for batch in config.batches:
        z = latents_for_seeds(range(batch), latent_dim)
        batch_rows = _bench_batch(candidates, z, config)
        for row in batch_rows:
            if on_row is not None:
                on_row(row)
        rows.extend(batch_rows)
    return rows


def _bench_batch(candidates: Sequence[Candidate], z: np.ndarray, config: BenchConfig) -> list[BenchRow]:
    started = [_start(c, z) for c in candidates]
    live = [s for s in started if isinstance(s, _Live)]
    for item in live:
        _warm_up(item, z, config)
    _interleave(live, z, config)
    reference = _reference_output(live)
    rows = [s if isinstance(s, BenchRow) else _row(s, z.shape[0], reference) for s in started]
    return _with_speedups(rows, candidates)


def _start(candidate: Candidate, z: np.ndarray) -> _Live | BenchRow:
    begin = time.perf_counter()
    try:
        run, used = candidate.start(z.shape[0])
        output = np.array(run(z))  # copied: runners may reuse their output buffer
    except Exception as exc:  # any failure of a format becomes its ✗ row, as in a benchmark table
        return _failed(candidate, z.shape[0], _one_line(exc))
    return _Live(candidate, run, used, time.perf_counter() - begin, output)


def _warm_up(item: _Live, z: np.ndarray, config: BenchConfig) -> None:
    end = time.perf_counter() + config.warmup_s
    calls = 0
    while not item.error and (calls < WARMUP_CALLS or time.perf_counter() < end):
        _call(item, z, timed=False)
        calls += 1


def _interleave(live: list[_Live], z: np.ndarray, config: BenchConfig) -> None:
    """Round-robin ``round_s`` turns until every candidate has its budget (or min/max reps)."""
    while True:
        pending = [item for item in live if not item.error and _wants_more(item, config)]
        if not pending:
            return
        for item in pending:
            turn_end = time.perf_counter() + config.round_s
            while _wants_more(item, config) and not item.error:
                _call(item, z, timed=True)
                if time.perf_counter() >= turn_end:
                    break


def _wants_more(item: _Live, config: BenchConfig) -> bool:
    if len(item.samples) < config.min_reps:
        return True
    return len(item.samples) < config.max_reps and sum(item.samples) < config.budget_s


def _call(item: _Live, z: np.ndarray, timed: bool) -> None:
    begin = time.perf_counter()
    try:
        item.run(z)
    except Exception as exc:  # a runner that breaks mid-way fails its row, not the benchmark
        item.error = _one_line(exc)
        return
    if timed:
        item.samples.append(time.perf_counter() - begin)


def _reference_output(live: list[_Live]) -> np.ndarray | None:
    for item in live:
        if item.candidate.reference and not item.error:
            return _as_float_nchw(item.output)
    return None


def _row(item: _Live, batch: int, reference: np.ndarray | None) -> BenchRow:
    c = item.candidate
    if item.error:
        return _failed(c, batch, item.error)
    p50, p90, p99 = (float(v) for v in np.percentile(item.samples, [50, 90, 99]))
    gflops = c.flops_per_image * batch / p50 / 1e9 if c.flops_per_image else None
    return BenchRow(
        label=c.label, model=c.model, precision=c.precision, provider=c.provider,
        provider_used=item.provider_used, batch=batch, status=OK,
        cold_start_ms=item.cold_s * 1e3, p50_ms=p50 * 1e3, p90_ms=p90 * 1e3, p99_ms=p99 * 1e3,
        reps=len(item.samples), images_per_s=batch / p50, gflops_per_s=gflops,
        parity_max_abs=_parity(item.output, reference),
    )


def _failed(candidate: Candidate, batch: int, reason: str) -> BenchRow:
    return BenchRow(label=candidate.label, model=candidate.model, precision=candidate.precision,
                    provider=candidate.provider, provider_used="", batch=batch, status=FAILED,
                    reason=reason)


def _with_speedups(rows: list[BenchRow], candidates: Sequence[Candidate]) -> list[BenchRow]:
    base = next((r for r, c in zip(rows, candidates) if c.baseline and r.status == OK), None)
    if base is None or base.p50_ms is None:
        return rows
    return [replace(r, speedup=base.p50_ms / r.p50_ms) if r.p50_ms else r for r in rows]


def _as_float_nchw(output: np.ndarray) -> np.ndarray:
    if output.dtype == np.uint8:  # (B, H, W, C) pixels back to the [-1, 1] NCHW scale
        return output.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    return output.astype(np.float32)


def _parity(output: np.ndarray, reference: np.ndarray | None) -> float | None:
    if reference is None:
        return None
    if output.dtype == np.uint8:
        # compare pixels with the reference's own pixels, so rounding alone is not counted
        ref_pixels = to_uint8_nhwc(reference).astype(np.int16)
        return float(np.abs(output.astype(np.int16) - ref_pixels).max()) / 127.5
    got = _as_float_nchw(output)
    if got.shape != reference.shape:
        return float("inf")
    return float(np.abs(got - reference).max())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, GanEdgeError):
        text = f"{type(exc).__name__}: {text}"
    return text[:200]


# ---- ONNX Runtime candidates -------------------------------------------------------------------

def model_contract(path: str | Path) -> ModelContract:
    """The contract stored in a model file (raises InputError/ContractError when unreadable)."""
    session = create_session(Path(path), [prov.CPU], None, ORT_DEFAULTS)
    return ModelContract.from_metadata(session.get_modelmeta().custom_metadata_map)


def model_precision(path: str | Path) -> str:
    """The precision a model computes in: from its provenance, else from its graph, else fp32."""
    session = create_session(Path(path), [prov.CPU], None, ORT_DEFAULTS)
    recorded = read_json_metadata(session.get_modelmeta().custom_metadata_map, KEY_PROVENANCE)
    if "precision" in recorded:
        return str(recorded["precision"])
    try:
        return graph_stats(path).precision
    except GanEdgeError:
        return "fp32"


def onnx_candidate(path: str | Path, provider: str, *, label: str = "ganedge",
                   settings: SessionSettings = SessionSettings(), io_binding: bool = True,
                   reference: bool = False, precision: str | None = None) -> Candidate:
    """Run ``path`` through ONNX Runtime on ``provider`` ("cpu" | "cuda") with ``settings``.

    ``io_binding`` runs through :class:`BoundRunner` (buffers reused); otherwise plain
    ``session.run``, as a user of ORT's defaults would.
    """
    path = Path(path)
    contract = model_contract(path)
    flops = _known_flops(path)
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

    return Candidate(label=label, model=path.name, precision=precision or model_precision(path),
                     provider=provider, start=start, flops_per_image=flops, reference=reference)


def _plain_runner(session: ort.InferenceSession, contract: ModelContract,
                  label_name: str | None) -> RunFn:
    def run(z: np.ndarray) -> np.ndarray:
        feeds = {contract.input_name: z}
        if label_name is not None:
            feeds[label_name] = np.zeros(z.shape[0], np.int64)
        return session.run([contract.output_name], feeds)[0]

    return run


def _known_flops(path: Path) -> int | None:
    try:
        return graph_stats(path).flops_per_image
    except GanEdgeError:  # onnx not installed, or shapes not inferable: GFLOP/s shown as unknown
        return None


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
                     settings: SessionSettings = SessionSettings()) -> list[Candidate]:
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
                                                     reference=(i == j == 0 and binding)))
                except GanEdgeError as exc:
                    candidates.append(failed_candidate(label, path, provider, str(exc)))
    return candidates


# ---- report --------------------------------------------------------------------------------------

def machine_info() -> dict[str, Any]:
    """The machine and software a benchmark ran on (never imports torch to ask its version)."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "physical_cores": physical_cores(),
        "logical_cpus": len(_affinity()),
        "cpu_flags": _cpu_flags(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "ort_providers": ort.get_available_providers(),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
    return info


def _affinity() -> list[int]:
    import os

    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


_FLAGS_OF_INTEREST = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
                      "amx_bf16", "amx_int8", "avx_vnni")


def _cpu_flags() -> list[str]:
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [f for f in _FLAGS_OF_INTEREST if f in have]
    return []


def to_json(rows: Sequence[BenchRow], config: BenchConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable report: schema, machine, settings and one object per row."""
    return {"schema": SCHEMA, "machine": machine_info(), "config": asdict(config),
            "rows": [asdict(r) for r in rows], **(extra or {})}


TABLE_COLUMNS = ("", "variant", "model", "prec", "provider used", "batch", "cold ms", "p50 ms",
                 "p90 ms", "p99 ms", "img/s", "GFLOP/s", "parity", "vs eager")


def table_cells(row: BenchRow) -> list[str]:
    """One row as display strings, in TABLE_COLUMNS order (✗ rows carry their reason)."""
    if row.status != OK:
        return ["✗", row.label, row.model, row.precision, row.provider, str(row.batch),
                row.reason, *[""] * 7]
    return ["✓", row.label, row.model, row.precision, _short(row.provider_used), str(row.batch),
            _num(row.cold_start_ms), _num(row.p50_ms, 3), _num(row.p90_ms, 3), _num(row.p99_ms, 3),
            _num(row.images_per_s), _num(row.gflops_per_s), _sci(row.parity_max_abs),
            f"{row.speedup:.2f}×" if row.speedup else "—"]


def render_markdown(rows: Sequence[BenchRow]) -> str:
    """A GitHub markdown table of the rows."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(table_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def _short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def _num(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if digits is None:
        digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:,.{digits}f}"


def _sci(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"
