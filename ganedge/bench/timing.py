"""Latency measurement: one row per way-to-run × batch size, each timed with nothing else running.

A :class:`Candidate` is one way to run a generator (a model file on a provider with given session
settings, or PyTorch eager on the checkpoint). Each candidate is timed in its own fresh worker
process (ganedge.bench.worker), one worker at a time, fed the same latents: ONNX Runtime's and
OpenMP's idle workers keep spinning after a run and would steal the cores from whichever runtime
runs next in the same process, so side-by-side timing in one process inflates some ratios
several-fold. Per batch size the worker builds the runner and makes its first call (cold start),
warms up, then times calls until the budget is spent; outputs come back for parity against the
reference. Every candidate is measured ``rounds`` times, each time in a new worker, the order
reversed every round, so slow drift of a shared machine hits every candidate alike. A row's p50
is its fastest round's median (other work on a shared machine only ever adds time, so the
fastest round is the closest to the candidate's own speed, and the figure that repeats best
between runs), its spread the min–max of the rounds' medians; a speed-up whose two spreads
overlap is flagged uncertain. A candidate that fails, or whose output is further from
the reference than its precision's tolerance (:data:`PARITY_TOLERANCE`), still yields a row,
with status "failed", the reason, and no speed-up.

ONNX candidates live in ganedge.bench.candidates, PyTorch ones in exports.torch_candidates
(torch is imported only there), the report in ganedge.bench.report.

Example:
    >>> from ganedge.bench.candidates import model_candidates
    >>> rows = run_bench(model_candidates(["model.onnx"], ["cpu"]), latent_dim=64)  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ganedge.budgets import (
    MAX_BATCH,
    MAX_BATCH_BYTES,
    MAX_BENCH_BUDGET_S,
    check_bytes,
    check_float,
    check_int,
)
from ganedge.errors import ConfigError, InputError, one_line
from ganedge.io.imaging import to_uint8_nhwc
from ganedge.sampling.latents import latents_for_seeds

SCHEMA = "ganedge.bench/3"
DEFAULT_BATCHES = (1, 8, 64)
DEFAULT_ROUNDS = 5  # fresh-process variance of torch eager at batch 64 is ~2x on an idle CPU
OK, FAILED = "ok", "failed"
WARMUP_CALLS = 3
MAX_BATCH_SIZES = 64  # rows of one table
MIN_BUDGET_S = 0.001

RunFn = Callable[[np.ndarray], np.ndarray]
"""(B, latent_dim) float32 latents → float (B, C, H, W) in [-1, 1] or uint8 (B, H, W, C)."""
Starter = Callable[[int], tuple[RunFn, str]]
"""batch → (runner, provider actually used); must be picklable (it runs in a worker process)."""

LEVELS_PER_UNIT = 127.5  # 8-bit pixel levels per unit of the [-1, 1] scale


@dataclass(frozen=True)
class Tolerance:
    """How far a candidate's output may be from the reference's, in 8-bit pixel levels."""

    max_levels: float  # largest error of any value
    mean_levels: float | None = None  # mean error over all values, when bounded too

    def describe(self) -> str:
        """E.g. "max 0.5 levels" or "max 32, mean 2 levels"."""
        mean = f", mean {self.mean_levels:g}" if self.mean_levels is not None else ""
        return f"max {self.max_levels:g}{mean} levels"


# Per precision, against the fp32 ONNX reference on its first provider. fp32: half a level, so
# no pixel lands more than one level away after rounding; room for other kernels and TF32 on a
# GPU (1.6e-3 = 0.2 levels measured on a StyleGAN2), while a wrong compile (0.26-0.52 = 33-66
# levels) fails. fp16 and int8: the exporter's own bounds for those exports (exports.quantize).
# bf16 keeps 8 mantissa bits to fp16's 11: twice fp16's.
PARITY_TOLERANCE = {
    "fp32": Tolerance(0.5),
    "fp16": Tolerance(8.0, 0.5),
    "bf16": Tolerance(16.0, 1.0),
    "int8": Tolerance(32.0, 2.0),
}
UINT8_ROUNDING_LEVELS = 1.0  # uint8 output: a value on a .5 boundary may round either way


def tolerance_for(precision: str, uint8_output: bool) -> Tolerance:
    """The parity tolerance of a candidate of ``precision`` (an unknown one is held to fp32's)."""
    tol = PARITY_TOLERANCE.get(precision, PARITY_TOLERANCE["fp32"])
    if not uint8_output:
        return tol
    return Tolerance(tol.max_levels + UINT8_ROUNDING_LEVELS,
                     None if tol.mean_levels is None else tol.mean_levels + UINT8_ROUNDING_LEVELS)


@dataclass(frozen=True)
class BenchConfig:
    """How long and how often each row is timed."""

    batches: tuple[int, ...] = DEFAULT_BATCHES  # batch sizes, one row each
    budget_s: float = 0.5  # timed seconds per row and round (after warm-up)
    warmup_s: float = 0.2  # untimed seconds of calls before timing (at least WARMUP_CALLS)
    min_reps: int = 5  # timed calls per row even when the budget is spent
    max_reps: int = 5000  # cap on timed calls per row (tiny models at batch 1)
    rounds: int = DEFAULT_ROUNDS  # workers per candidate, in alternating order

    def __post_init__(self) -> None:
        if not self.batches or len(self.batches) > MAX_BATCH_SIZES:
            raise InputError(f"give 1 to {MAX_BATCH_SIZES} batch sizes (got {len(self.batches)})",
                             param="batches")
        for batch in self.batches:
            check_int(batch, "batches", 1, MAX_BATCH)
        check_float(self.budget_s, "budget_s", MIN_BUDGET_S, MAX_BENCH_BUDGET_S,
                    hint=": timed seconds per row")
        if self.rounds < 1:
            raise InputError(f"must be at least 1 (got {self.rounds})", param="rounds")
        if self.warmup_s < 0:
            raise ConfigError(f"must be >= 0 (got {self.warmup_s})", param="warmup_s")
        if not 1 <= self.min_reps <= self.max_reps:
            raise ConfigError(f"min_reps/max_reps: need 1 <= min <= max (got {self.min_reps}, "
                              f"{self.max_reps})")


@dataclass(frozen=True)
class Candidate:
    """One way to run a generator, timed against the others."""

    label: str  # row name, e.g. "ganedge", "plain ORT", "torch eager"
    model: str  # file the weights come from (shown by name)
    precision: str  # fp32 | fp16 | int8 | bf16
    provider: str  # what was asked for: "cpu", "cuda", "torch-cpu"
    start: Starter  # picklable: called in the worker process
    flops_per_image: int | None = None  # 2 × MACs per image, None when unknown
    size_mb: float | None = None  # weights on disk (model file, or the generator's parameters)
    reference: bool = False  # its output is the fp32 truth every row's parity is measured against
    baseline: bool = False  # the row every other row's speed-up is measured against
    uint8_output: bool = False  # returns uint8 (B, H, W, C) pixels: one more level of tolerance


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
    size_mb: float | None = None
    cold_start_ms: float | None = None  # runner creation + first call (first round)
    p50_ms: float | None = None  # the fastest round's median (see the module docstring)
    p50_low_ms: float | None = None  # the fastest round's median: the spread's low end
    p50_high_ms: float | None = None  # the slowest round's median
    p90_ms: float | None = None  # of all timed calls, every round pooled
    p99_ms: float | None = None
    rounds: int = 0  # rounds that timed this row
    reps: int = 0  # timed calls, all rounds
    images_per_s: float | None = None  # batch / p50
    gflops_per_s: float | None = None  # FLOPs per image × batch / p50, when FLOPs are known
    parity_max_abs: float | None = None  # max |output − fp32 reference| on the [-1, 1] scale
    parity_mean_abs: float | None = None  # mean |output − fp32 reference|
    parity_tolerance: str = ""  # the tolerance it was held to, e.g. "max 0.5 levels"
    speedup: float | None = None  # baseline p50 / this p50 at the same batch size
    speedup_uncertain: bool = False  # this row's and the baseline's spreads overlap


@dataclass
class Measurement:
    """What a worker measured for one candidate at one batch size (sent back to the parent)."""

    provider_used: str = ""
    cold_s: float = 0.0
    samples: list[float] = field(default_factory=list)
    round_p50s: list[float] = field(default_factory=list)  # each round's median, in seconds
    output: np.ndarray | None = None  # the first call's output, for parity
    error: str = ""


def check_batch_bytes(config: BenchConfig, latent_dim: int, image_values: int) -> None:
    """Refuse batch sizes whose latents or float outputs exceed the per-run budget."""
    for batch in config.batches:
        check_bytes(batch, 4 * max(latent_dim, image_values), "batches", MAX_BATCH_BYTES,
                    f"a batch of {batch:,}", "use smaller batch sizes")


def run_bench(candidates: Sequence[Candidate], latent_dim: int, config: BenchConfig = BenchConfig(),
              on_row: Callable[[BenchRow], None] | None = None,
              on_progress: Callable[[str], None] | None = None) -> list[BenchRow]:
    """Time every candidate at every batch size of ``config``, each alone in its own worker
    process; one row each, failures included, grouped by batch size."""
    check_batch_bytes(config, latent_dim, 0)
    inputs = {b: latents_for_seeds(range(b), latent_dim) for b in config.batches}
    measured: list[dict[int, Measurement]] = [{} for _ in candidates]
    order = list(range(len(candidates)))
    for round_ in range(config.rounds):
        for step, i in enumerate(order if round_ % 2 == 0 else order[::-1], 1):
            if on_progress is not None:
                on_progress(f"round {round_ + 1}/{config.rounds}, {step}/{len(order)}: "
                            f"{candidates[i].label} · {candidates[i].model}")
            _merge(measured[i], measure_isolated(candidates[i].start, inputs, config))
    rows: list[BenchRow] = []
    for batch in config.batches:
        batch_rows = _batch_rows(candidates, [m[batch] for m in measured], batch)
        for row in batch_rows:
            if on_row is not None:
                on_row(row)
        rows.extend(batch_rows)
    return rows


def measure_isolated(start: Starter, inputs: Mapping[int, np.ndarray],
                     config: BenchConfig) -> dict[int, Measurement]:
    """:func:`measure` in a fresh interpreter (ganedge.bench.worker) that ends before this
    returns, so none of the candidate's threads outlive its measurement, and that imports only
    what the candidate needs: nothing of the caller's (torch in a benchmark script, say).
    ``start`` must be importable, i.e. not defined in a script's ``__main__``."""
    def failed(reason: str) -> dict[int, Measurement]:
        return {b: Measurement(error=f"worker process failed: {reason}") for b in inputs}

    if type(start).__module__ == "__main__":
        return failed(f"{type(start).__name__} is defined in __main__, which the worker does not "
                      "import: define it in an importable module")
    with tempfile.TemporaryDirectory(prefix="ganedge-bench-") as folder:
        job, result = Path(folder) / "job.pickle", Path(folder) / "result.pickle"
        try:
            with job.open("wb") as handle:
                pickle.dump(list(sys.path), handle)
                pickle.dump((start, dict(inputs), config), handle)
        except Exception as exc:  # an unpicklable starter fails its rows, not the benchmark
            return failed(one_line(exc))
        done = subprocess.run([sys.executable, "-m", "ganedge.bench.worker", str(job),
                               str(result)], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              errors="replace", check=False)
        if done.returncode != 0 or not result.is_file():
            lines = done.stderr.strip().splitlines()
            return failed(lines[-1][:200] if lines else f"exit code {done.returncode}")
        with result.open("rb") as handle:
            measured: dict[int, Measurement] = pickle.load(handle)
        return measured


def measure(start: Starter, inputs: Mapping[int, np.ndarray],
            config: BenchConfig) -> dict[int, Measurement]:
    """Time ``start``'s runner at every batch size of ``inputs``, in this process."""
    return {batch: _measure_batch(start, z, config) for batch, z in inputs.items()}


def _measure_batch(start: Starter, z: np.ndarray, config: BenchConfig) -> Measurement:
    begin = time.perf_counter()
    try:
        run, used = start(z.shape[0])
        output = np.array(run(z))  # copied: runners may reuse their output buffer
    except Exception as exc:  # any failure of a format becomes its ✗ row, as in a benchmark table
        return Measurement(error=one_line(exc))
    result = Measurement(used, time.perf_counter() - begin, output=output)
    try:
        _warm_up(run, z, config)
        _time(run, z, config, result.samples)
    except Exception as exc:  # a runner that breaks mid-way fails its row, not the benchmark
        result.error = one_line(exc)
    if result.samples:
        result.round_p50s.append(float(np.median(result.samples)))
    return result


def _warm_up(run: RunFn, z: np.ndarray, config: BenchConfig) -> None:
    end = time.perf_counter() + config.warmup_s
    calls = 0
    while calls < WARMUP_CALLS or time.perf_counter() < end:
        run(z)
        calls += 1


def _time(run: RunFn, z: np.ndarray, config: BenchConfig, samples: list[float]) -> None:
    spent = 0.0
    while len(samples) < config.min_reps or (len(samples) < config.max_reps
                                             and spent < config.budget_s):
        begin = time.perf_counter()
        run(z)
        samples.append(time.perf_counter() - begin)
        spent += samples[-1]


def _merge(into: dict[int, Measurement], new: dict[int, Measurement]) -> None:
    """Pool a later round's samples into the first round's measurement."""
    for batch, m in new.items():
        first = into.setdefault(batch, m)
        if first is not m:
            first.samples.extend(m.samples)
            first.round_p50s.extend(m.round_p50s)
            first.error = first.error or m.error


def _batch_rows(candidates: Sequence[Candidate], measured: list[Measurement],
                batch: int) -> list[BenchRow]:
    reference = next((_as_float_nchw(m.output) for c, m in zip(candidates, measured)
                      if c.reference and not m.error and m.output is not None), None)
    rows = [_row(c, m, batch, reference) for c, m in zip(candidates, measured)]
    return with_speedups(rows, [c.baseline for c in candidates])


def _row(c: Candidate, m: Measurement, batch: int, reference: np.ndarray | None) -> BenchRow:
    if m.error or m.output is None or not m.samples:
        return _failed(c, batch, m.error or "no timed calls")
    p90, p99 = (float(v) for v in np.percentile(m.samples, [90, 99]))
    p50 = min(m.round_p50s)
    gflops = c.flops_per_image * batch / p50 / 1e9 if c.flops_per_image else None
    tolerance = tolerance_for(c.precision, c.uint8_output)
    row = BenchRow(
        label=c.label, model=c.model, precision=c.precision, provider=c.provider,
        provider_used=m.provider_used, batch=batch, status=OK, size_mb=c.size_mb,
        cold_start_ms=m.cold_s * 1e3, p50_ms=p50 * 1e3, p50_low_ms=min(m.round_p50s) * 1e3,
        p50_high_ms=max(m.round_p50s) * 1e3, p90_ms=p90 * 1e3, p99_ms=p99 * 1e3,
        rounds=len(m.round_p50s), reps=len(m.samples), images_per_s=batch / p50,
        gflops_per_s=gflops, parity_tolerance=tolerance.describe(),
    )
    if reference is None:
        return replace(row, status=FAILED, reason="parity not checked: the reference row failed")
    max_err, mean_err = parity_errors(m.output, reference)
    row = replace(row, parity_max_abs=max_err, parity_mean_abs=mean_err)
    verdict = parity_verdict(max_err, mean_err, tolerance)
    return row if verdict is None else replace(row, status=FAILED,
                                               reason=f"{verdict} ({c.precision})")


def parity_verdict(max_err: float, mean_err: float, tolerance: Tolerance) -> str | None:
    """None when errors (on the [-1, 1] scale) are within ``tolerance``, else why not."""
    max_levels, mean_levels = max_err * LEVELS_PER_UNIT, mean_err * LEVELS_PER_UNIT
    if not max_levels <= tolerance.max_levels:  # NaN fails too
        return (f"parity: max error {max_err:.3g} ({max_levels:.3g} levels) is beyond the "
                f"tolerance, {tolerance.describe()}")
    if tolerance.mean_levels is not None and not mean_levels <= tolerance.mean_levels:
        return (f"parity: mean error {mean_err:.3g} ({mean_levels:.3g} levels) is beyond the "
                f"tolerance, {tolerance.describe()}")
    return None


def _failed(candidate: Candidate, batch: int, reason: str) -> BenchRow:
    return BenchRow(label=candidate.label, model=candidate.model, precision=candidate.precision,
                    provider=candidate.provider, provider_used="", batch=batch, status=FAILED,
                    reason=reason, size_mb=candidate.size_mb)


def with_speedups(rows: Sequence[BenchRow], baseline: Sequence[bool]) -> list[BenchRow]:
    """``rows`` (one batch size) with each passing row's speed-up against the passing row marked
    ``baseline``, flagged uncertain where :func:`spreads_overlap`; failed rows get none."""
    base = next((r for r, b in zip(rows, baseline) if b and r.status == OK), None)
    if base is None or base.p50_ms is None:
        return list(rows)
    return [replace(r, speedup=base.p50_ms / r.p50_ms,
                    speedup_uncertain=r is not base and spreads_overlap(r, base))
            if r.status == OK and r.p50_ms else r for r in rows]


def spreads_overlap(a: BenchRow, b: BenchRow) -> bool:
    """Whether the rounds' spreads of two rows overlap, so that which one is faster is not
    settled by this run; with fewer than two rounds there is no spread, and nothing is settled."""
    if min(a.rounds, b.rounds) < 2 or None in (a.p50_low_ms, a.p50_high_ms, b.p50_low_ms,
                                               b.p50_high_ms):
        return True
    return a.p50_low_ms <= b.p50_high_ms and b.p50_low_ms <= a.p50_high_ms  # type: ignore[operator]


def _as_float_nchw(output: np.ndarray) -> np.ndarray:
    if output.dtype == np.uint8:  # (B, H, W, C) pixels back to the [-1, 1] NCHW scale
        return output.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    return output.astype(np.float32)


def parity_errors(output: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(max, mean) |output − reference| on the [-1, 1] scale; uint8 pixels are compared with the
    reference's own pixels, so rounding alone is not counted. A wrong shape or a non-finite
    value is an infinite error."""
    if output.dtype == np.uint8:
        got = output.astype(np.int16)
        want = to_uint8_nhwc(reference).astype(np.int16)
        if got.shape != want.shape:
            return float("inf"), float("inf")
        diff = np.abs(got - want).astype(np.float64) / LEVELS_PER_UNIT
    else:
        got = _as_float_nchw(output)
        if got.shape != reference.shape:
            return float("inf"), float("inf")
        with np.errstate(invalid="ignore"):
            diff = np.abs(got.astype(np.float64) - reference)
        diff[~np.isfinite(diff)] = np.inf
    return float(diff.max()), float(diff.mean())
