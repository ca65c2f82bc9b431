"""Latency measurement and its report: one row per way-to-run × batch size, timed side by side.

A :class:`Candidate` is one way to run a generator (a model file on a provider with given session
settings, or PyTorch eager on the checkpoint). For every batch size all candidates are started
(cold start = building the runner + its first call), warmed up, then timed in interleaved rounds
until each has spent its time budget, so machine noise hits every candidate alike. A candidate
that fails still yields a row, with status "failed" and the reason.

ONNX Runtime candidates live in ganedge.bench_onnx, PyTorch ones in exports.torch_bench (torch
imported only there), the report in ganedge.bench_report.

Example:
    >>> from ganedge.bench_onnx import model_candidates
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ganedge.budgets import (MAX_BATCH, MAX_BATCH_BYTES, MAX_BENCH_BUDGET_S, check_bytes,
                             check_float, check_int)
from ganedge.errors import ConfigError, InputError, one_line
from ganedge.imaging import to_uint8_nhwc
from ganedge.latents import latents_for_seeds

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
    # pause between turns: the previous runner's idle workers spin for a while (ORT, OpenMP) and
    # would otherwise steal the cores from whichever candidate runs next
    settle_s: float = 0.01
    min_reps: int = 5  # timed calls per row even when the budget is spent
    max_reps: int = 5000  # cap on timed calls per row (tiny models at batch 1)

    def __post_init__(self) -> None:
        if not self.batches or len(self.batches) > MAX_BATCH_SIZES:
            raise InputError(f"give 1 to {MAX_BATCH_SIZES} batch sizes (got {len(self.batches)})",
                             param="batches")
        for batch in self.batches:
            check_int(batch, "batches", 1, MAX_BATCH)
        check_float(self.budget_s, "budget_s", MIN_BUDGET_S, MAX_BENCH_BUDGET_S,
                    hint=": timed seconds per row")
        if self.warmup_s < 0 or self.round_s <= 0 or self.settle_s < 0:
            raise ConfigError(f"warmup_s/round_s/settle_s: must be >= 0 / > 0 / >= 0 (got "
                              f"{self.warmup_s}, {self.round_s}, {self.settle_s})")
        if not 1 <= self.min_reps <= self.max_reps:
            raise ConfigError(f"min_reps/max_reps: need 1 <= min <= max (got {self.min_reps}, {self.max_reps})")


WARMUP_CALLS = 3
MAX_BATCH_SIZES = 64  # rows of one table
MIN_BUDGET_S = 0.001


def check_batch_bytes(config: BenchConfig, latent_dim: int, image_values: int) -> None:
    """Refuse batch sizes whose latents or float outputs exceed the per-run budget."""
    for batch in config.batches:
        check_bytes(batch, 4 * max(latent_dim, image_values), "batches", MAX_BATCH_BYTES,
                    f"a batch of {batch:,}", "use smaller batch sizes")


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
    check_batch_bytes(config, latent_dim, 0)
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
        return _failed(candidate, z.shape[0], one_line(exc))
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
            time.sleep(config.settle_s)
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
        item.error = one_line(exc)
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
