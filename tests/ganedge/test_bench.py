"""`ganedge bench` and its machinery on the tiny exported digits model (no wall-clock asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganedge.bench import SCHEMA, BenchConfig, BenchRow
from ganedge.bench.candidates import default_providers
from ganedge.errors import ConfigError, InputError
from ganedge.runtime import providers as prov
from ganedge.runtime.iobinding import BoundRunner
from ganedge.runtime.session import SessionSettings, create_session, session_options
from tests.conftest import run_cli

QUICK = ("--budget", "0.01", "--rounds", "2", "--provider", "cpu")
ROW_KEYS = set(BenchRow.__dataclass_fields__)
DIGITS_FLOPS = 2_359_296  # see test_bench_flops.py


def _bench_json(*args: str) -> dict:
    return json.loads(run_cli("bench", *args, *QUICK, "--json", "-").stdout)


@pytest.mark.slow
def test_json_report_has_one_timed_row_per_batch(exported_model: Path) -> None:
    report = _bench_json(str(exported_model), "--batch", "1,3")
    assert report["schema"] == SCHEMA
    assert {"cpu", "physical_cores", "onnxruntime", "date_utc"} <= set(report["machine"])
    assert "torch" not in report["machine"]  # the runtime measured without importing torch
    rows = report["rows"]
    assert [(r["label"], r["batch"], r["status"]) for r in rows] == [("ganedge", 1, "ok"),
                                                                      ("ganedge", 3, "ok")]
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["provider_used"] == prov.CPU and row["precision"] == "fp32"
        assert row["reps"] >= 10 and row["cold_start_ms"] > 0 and row["rounds"] == 2
        # orderings that hold by construction of the report (the rounds' fastest and slowest
        # medians around the shown one; percentiles of one sample set), whatever the timings
        assert 0 < row["p50_low_ms"] <= row["p50_ms"] <= row["p50_high_ms"]
        assert row["p90_ms"] <= row["p99_ms"] and row["parity_tolerance"] == "max 0.5 levels"
        assert row["images_per_s"] == pytest.approx(row["batch"] / row["p50_ms"] * 1e3)
        assert row["gflops_per_s"] == pytest.approx(DIGITS_FLOPS * row["batch"] / row["p50_ms"]
                                                    / 1e6)
        assert row["parity_max_abs"] == 0.0  # the reference row against itself
        assert row["speedup"] is None  # no torch baseline in this run


def test_no_model_benches_the_bundled_one() -> None:
    report = _bench_json("--batch", "1")
    assert [(r["label"], r["model"], r["status"]) for r in report["rows"]] == [
        ("ganedge", "digits.onnx", "ok")]


@pytest.mark.slow
def test_unreadable_variant_still_gets_failed_rows(exported_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    report = _bench_json(str(exported_model), str(broken), "--batch", "2", "--ort-defaults")
    got = [(r["label"], r["model"], r["status"]) for r in report["rows"]]
    assert got == [("ganedge", exported_model.name, "ok"), ("plain ORT", exported_model.name, "ok"),
                   ("ganedge", "broken.onnx", "failed"), ("plain ORT", "broken.onnx", "failed")]
    failed = report["rows"][2]
    assert "is not a loadable ONNX model" in failed["reason"] and failed["p50_ms"] is None
    assert report["rows"][1]["parity_max_abs"] == 0.0  # plain ORT computes the same numbers


@pytest.mark.slow
def test_table_marks_failed_rows(exported_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"")
    out = run_cli("bench", str(exported_model), str(broken), "--batch", "1", *QUICK).stdout
    assert "✓" in out and "✗" in out and "not a loadable ONNX model" in out


@pytest.mark.slow
def test_unusable_cuda_provider_is_a_failed_row(exported_model: Path) -> None:
    if default_providers(exported_model) != ["cpu"]:
        pytest.skip("a GPU is present: CUDA rows succeed here")
    report = json.loads(run_cli("bench", str(exported_model), "--batch", "1", "--budget", "0.01",
                                "--provider", "cuda", "--json", "-").stdout)
    rows = report["rows"]
    assert [r["label"] for r in rows] == ["ganedge", "ganedge cuda-graph"]
    assert all(r["status"] == "failed" and r["provider"] == "cuda" and r["reason"] for r in rows)


@pytest.mark.slow
def test_compare_torch_times_eager_on_the_same_weights(trained_run: Path,
                                                       exported_model: Path) -> None:
    report = _bench_json(str(exported_model), "--batch", "2", "--compare-torch",
                         str(trained_run / "ckpt.pt"), "--no-torch-compile")
    eager, ours = report["rows"]
    assert (eager["label"], eager["precision"], eager["status"]) == ("torch eager", "fp32", "ok")
    assert eager["speedup"] == 1.0 and eager["gflops_per_s"] is not None
    assert eager["parity_max_abs"] <= 1e-4  # same weights, same latents as the ONNX reference
    assert ours["speedup"] == pytest.approx(eager["p50_ms"] / ours["p50_ms"])


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (("--batch", "0"), "error: --batch: must be at least 1 (got 0)"),
    (("--batch", "1,x"), "error: --batch: '1,x' is not a list of integers: use e.g. 1,8,64"),
    (("--budget", "0"), "error: --budget: must be in [0.001, 3600] (got 0): timed seconds per row"),
    (("--budget", "nan"), "error: --budget: must be in [0.001, 3600] (got nan): timed seconds "
                          "per row"),
    (("--rounds", "0"), "error: --rounds: must be at least 1 (got 0)"),
    (("--truncation", "2"), "error: --truncation: ψ must be in [0, 1] (got 2.0): 1 is no "
                            "truncation, 0 the mean image"),
    (("--batch", "100000000"), "error: --batch: must be at most 65,536 (got 100,000,000)"),
    (("--provider", "tpu"), "error: Invalid value for '--provider': 'tpu' is not one "
                           "of 'cpu', 'cuda', 'openvino'. (see `python -m ganedge bench -h`)"),
    (("--compare-torch", "nope.pt"), "error: --compare-torch: 'nope.pt' does not exist: give a "
                                     "ckpt.pt path"),
])
def test_bad_input_is_one_line(exported_model: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli("bench", str(exported_model), *args, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == message


def test_missing_model_is_one_line(tmp_path: Path) -> None:
    result = run_cli("bench", str(tmp_path / "none.onnx"), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: model: '{tmp_path / 'none.onnx'}' does not exist: "
                                     "give a .onnx file path")


@pytest.mark.slow
def test_bound_runner_matches_plain_run_and_pads_to_buckets(exported_model: Path) -> None:
    session = create_session(exported_model, [prov.CPU], None)
    z = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    (expected,) = session.run(["images"], {"z": z})
    runner = BoundRunner(session, "z", "images", buckets=(1, 4))
    assert runner.bucket(3) == 4 and runner.bucket(1) == 1
    np.testing.assert_allclose(runner(z), expected, atol=1e-6)
    np.testing.assert_allclose(runner(z[:1]), expected[:1], atol=1e-6)
    with pytest.raises(InputError, match="larger than the largest bucket"):
        runner(np.zeros((5, 64), np.float32))


def test_session_settings_reach_onnx_runtime() -> None:
    options = session_options(SessionSettings(threads=3, spinning=False))
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    # flush-to-zero is process-wide in ORT: never on unless asked for
    assert options.get_session_config_entry("session.set_denormal_as_zero") == "0"
    opted_in = session_options(SessionSettings(denormals_as_zero=True))
    assert opted_in.get_session_config_entry("session.set_denormal_as_zero") == "1"
    with pytest.raises(InputError, match="threads: must be at least 1"):
        SessionSettings(threads=0)
    with pytest.raises(ConfigError, match="optimization: must be one of"):
        SessionSettings(optimization="max")
    with pytest.raises(InputError, match=r"budget_s: must be in \[0.001, 3600\]"):
        BenchConfig(budget_s=0)


def test_bench_module_does_not_import_torch() -> None:
    code = ("import sys, ganedge.bench, ganedge.bench.candidates, ganedge.bench.report, "
            "ganedge.bench.graphstats, ganedge.cli.bench; print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_eval_puts_quality_beside_speed(exported_model: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANEDGE_CACHE", str(tmp_path / "cache"))
    report = _bench_json(str(exported_model), "--batch", "2", "--eval", "digits")
    figures = report["quality"][exported_model.name]["figures"]
    assert figures["FD"]["value"] > figures["FD"]["floor"] >= 0
    assert 0 <= figures["modes covered"]["value"] <= 10
    table = run_cli("bench", str(exported_model), "--batch", "2", *QUICK, "--eval", "digits").stdout
    assert f"{exported_model.name}: FD " in table and "(real-vs-real " in table


@pytest.mark.slow
def test_files_progress_and_markdown_off_a_terminal(exported_model: Path, tmp_path: Path) -> None:
    files = {kind: tmp_path / f"report.{kind}" for kind in ("json", "csv", "md")}
    result = run_cli("bench", str(exported_model), "--batch", "1,2", *QUICK,
                     *(arg for kind, path in files.items() for arg in (f"--{kind}", str(path))))
    table = result.stdout  # a pipe, not a terminal: full-width Markdown, nothing cut short
    assert "| ✓ | ganedge | " in table and "…" not in table
    assert "avx" in table.splitlines()[0].lower()
    assert "timing round 1/2, 1/1: ganedge" in result.stderr
    header, *lines = files["csv"].read_text().splitlines()
    assert header.split(",")[:3] == ["label", "model", "precision"] and len(lines) == 2
    size = exported_model.stat().st_size / 1e6
    assert json.loads(files["json"].read_text())["rows"][0]["size_mb"] == pytest.approx(size)
    assert files["md"].read_text().strip().endswith(table.strip().splitlines()[-1])
