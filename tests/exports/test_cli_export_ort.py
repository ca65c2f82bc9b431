"""``ganedge export --format ort``: the .onnx and its ORT-format twin, same contract and images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ganedge
from tests.conftest import run_cli


@pytest.mark.slow
def test_export_writes_ort_beside_onnx(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.onnx"
    result = run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(out), "--format", "ort",
                     "--no-optimize")
    assert f"wrote {tmp_path / 'model.ort'} (ORT format, contract carried" in result.stdout
    onnx_gen, ort_gen = ganedge.load(out), ganedge.load(tmp_path / "model.ort")
    assert ort_gen.contract == onnx_gen.contract and ort_gen.provenance == onnx_gen.provenance
    np.testing.assert_array_equal(ort_gen.sample(16), onnx_gen.sample(16))


@pytest.mark.slow
def test_unknown_format_fails_before_any_work(trained_run: Path, tmp_path: Path) -> None:
    result = run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"),
                     "--format", "tflite", check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: Invalid value for '--format': 'tflite' "
                                     "is not one of 'onnx', 'ort', 'triton'. "
                                     "(see `python -m ganedge export -h`)")
    assert list(tmp_path.iterdir()) == []
