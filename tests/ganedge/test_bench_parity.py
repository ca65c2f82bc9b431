"""The benchmark's verdicts: a candidate whose output is wrong is failed (through the real timing
engine and its worker processes), parity tolerances per precision, and the "uncertain" flag of a
speed-up whose rounds' spreads overlap (on synthetic measurements: no wall-clock asserts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from ganedge.bench import (
    FAILED,
    OK,
    BenchConfig,
    BenchRow,
    Candidate,
    RunFn,
    run_bench,
    spreads_overlap,
    tolerance_for,
    with_speedups,
)
from ganedge.bench.candidates import load_model, onnx_candidate
from ganedge.bench.report import oversubscribed, speedup_text, spread_text, table_cells
from ganedge.bench.timing import LEVELS_PER_UNIT, parity_errors, parity_verdict
from ganedge.runtime.cores import usable_cpus
from tests.conftest import run_cli
from tests.e2e.stylegan_graph import tiny_stylegan

TINY = BenchConfig(batches=(2,), budget_s=0.01, warmup_s=0.0, rounds=2)


@dataclass(frozen=True)
class PerturbedStarter:
    """ganedge's runner of a model, with ``offset`` added to every image it returns."""

    path: Path
    offset: float

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        gen = load_model(self.path, "cpu")
        return (lambda z: gen.generate(z) + np.float32(self.offset)), gen.providers[0]


def _perturbed(path: Path, offset: float, precision: str = "fp32") -> Candidate:
    return Candidate(label=f"off by {offset:g}", model=path.name, precision=precision,
                     provider="cpu", start=PerturbedStarter(path.resolve(), offset))


def test_a_wrong_candidate_is_failed_and_never_a_speedup(models: dict[str, Path]) -> None:
    path = models["float"]
    reference = replace(onnx_candidate(path, "cpu", label="reference", reference=True),
                        baseline=True)
    slightly_off = 0.25 / LEVELS_PER_UNIT  # a quarter level: within fp32's half level
    sample = onnx_candidate(path, "cpu", label="sample", api="sample")  # uint8 pixels
    rows = run_bench([reference, _perturbed(path, slightly_off), _perturbed(path, 0.3),
                      _perturbed(path, 0.03, precision="fp16"), sample], 8, TINY)
    ref, close, wrong, fp16, pixels = rows
    assert (pixels.status, pixels.parity_tolerance) == (OK, "max 1.5 levels")
    assert (ref.status, ref.parity_max_abs, ref.speedup, ref.rounds) == (OK, 0.0, 1.0, 2)
    assert close.status == OK and close.speedup is not None
    assert close.parity_max_abs == pytest.approx(slightly_off, rel=1e-3)
    assert close.parity_tolerance == "max 0.5 levels"
    assert wrong.status == FAILED and wrong.speedup is None and wrong.speedup_uncertain is False
    assert wrong.reason == ("parity: max error 0.3 (38.3 levels) is beyond the tolerance, "
                            "max 0.5 levels (fp32)")
    assert wrong.p50_ms is not None  # timed, shown, but not counted
    assert fp16.status == FAILED and fp16.reason.startswith("parity: mean error 0.03 (3.82 ")
    cells = table_cells(wrong)
    assert cells[0] == "✗" and "parity: max error 0.3" in cells[7] and cells[-1] == ""


def test_the_cli_fails_rows_beyond_tolerance_in_json_and_table(models: dict[str, Path]) -> None:
    # the uint8-tail model is the same weights as the float one: within one level of it
    report = json.loads(run_cli("bench", str(models["float"]), str(models["uint8"]), "--batch",
                                "2", "--budget", "0.01", "--rounds", "2", "--provider", "cpu",
                                "--json", "-").stdout)
    ref, uint8 = report["rows"]
    assert (ref["status"], uint8["status"]) == (OK, OK)
    assert uint8["parity_tolerance"] == "max 1.5 levels"
    assert uint8["parity_max_abs"] <= 1 / LEVELS_PER_UNIT


def test_stylegan_runs_generate_with_truncation_and_plain_ort_agrees(tmp_path: Path) -> None:
    path = tiny_stylegan(tmp_path / "sg.onnx")
    report = json.loads(run_cli("bench", str(path), "--batch", "1,3", "--budget", "0.01",
                                "--rounds", "2", "--provider", "cpu", "--ort-defaults",
                                "--json", "-").stdout)
    rows = [(r["label"], r["batch"], r["status"]) for r in report["rows"]]
    assert rows == [("ganedge", 1, OK), ("plain ORT", 1, OK), ("ganedge", 3, OK),
                    ("plain ORT", 3, OK)]
    gen = load_model(path, "cpu")
    z = gen.latents(range(3))
    # the reference is generate at ψ 0.7; untruncated images differ from it, so plain ORT
    # agreeing within fp32's tolerance means it truncated alike
    assert np.abs(gen.generate(z, truncation=0.7) - gen.generate(z)).max() > 0.05
    assert all(r["parity_max_abs"] <= 0.5 / LEVELS_PER_UNIT for r in report["rows"])


@pytest.mark.parametrize(("precision", "uint8", "text"), [
    ("fp32", False, "max 0.5 levels"), ("fp16", False, "max 8, mean 0.5 levels"),
    ("bf16", False, "max 16, mean 1 levels"), ("int8", False, "max 32, mean 2 levels"),
    ("int8", True, "max 33, mean 3 levels"), ("?", False, "max 0.5 levels"),
])
def test_tolerance_per_precision(precision: str, uint8: bool, text: str) -> None:
    assert tolerance_for(precision, uint8).describe() == text


def test_parity_errors_compare_pixels_with_pixels_and_fail_nan_and_shape() -> None:
    reference = np.zeros((1, 1, 2, 2), np.float32)
    pixels = np.full((1, 2, 2, 1), 128, np.uint8)  # 0.0 → level 127.5 → rounds to 128
    assert parity_errors(pixels, reference) == (0.0, 0.0)
    assert parity_errors(pixels + 1, reference)[0] == pytest.approx(1 / LEVELS_PER_UNIT)
    nan = reference.copy()
    nan[0, 0, 0, 0] = np.nan
    assert parity_errors(nan, reference)[0] == float("inf")
    assert parity_errors(np.zeros((1, 1, 4, 1), np.float32), reference) == (float("inf"),) * 2
    assert parity_verdict(float("inf"), 0.0, tolerance_for("fp32", False)).startswith(
        "parity: max error inf")
    assert parity_verdict(1e-3, 1e-4, tolerance_for("fp32", False)) is None


def _row(label: str, p50: float, low: float, high: float, rounds: int = 3,
         status: str = OK) -> BenchRow:
    return BenchRow(label=label, model="m.onnx", precision="fp32", provider="cpu",
                    provider_used="CPU", batch=64, status=status, p50_ms=p50, p50_low_ms=low,
                    p50_high_ms=high, rounds=rounds)


def test_a_ratio_is_uncertain_exactly_when_the_spreads_overlap() -> None:
    eager = _row("torch eager", 80.0, 46.0, 107.0)  # the swing seen on a shared 2-core machine
    apart = _row("ganedge", 45.0, 44.0, 45.9)
    touching = _row("ganedge", 45.0, 44.0, 46.0)
    inside = _row("ganedge", 60.0, 50.0, 70.0)
    one_round = _row("ganedge", 20.0, 20.0, 20.0, rounds=1)
    assert not spreads_overlap(apart, eager) and spreads_overlap(touching, eager)
    assert spreads_overlap(inside, eager) and spreads_overlap(eager, inside)
    assert spreads_overlap(one_round, eager)  # one round: no spread, nothing settled
    failed = _row("wrong", 1.0, 1.0, 1.0, status=FAILED)
    rows = with_speedups([eager, apart, inside, one_round, failed],
                         [True, False, False, False, False])
    assert [(r.speedup, r.speedup_uncertain) for r in rows] == [
        (1.0, False), (80 / 45, False), (80 / 60, True), (4.0, True), (None, False)]
    assert [speedup_text(r) for r in rows] == ["1.00×", "1.78×", "1.33× uncertain",
                                               "4.00× uncertain", "—"]
    assert spread_text(apart) == "44.000–45.900 (3)"
    # without a passing baseline nobody gets a speed-up
    assert [r.speedup for r in with_speedups([replace(eager, status=FAILED), apart],
                                             [True, False])] == [None, None]


def test_an_oversubscribed_machine_is_named() -> None:
    cpus = usable_cpus()
    assert oversubscribed(float(cpus)) is None
    assert oversubscribed(cpus + 9.0) == (
        f"load average {cpus + 9.0:.1f} on {cpus} CPUs: other work shares this machine and "
        "every figure of this run is slowed unevenly; compare ratios only, and prefer "
        "--threads 1 and more --rounds")
