"""The walking skeleton through the real CLI: train → export → sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from tests.conftest import TRAIN_STEPS, run_cli


@pytest.mark.slow
def test_checkpoint_loads_as_plain_data(trained_run: Path) -> None:
    import torch

    ckpt = torch.load(trained_run / "ckpt.pt", weights_only=True)
    assert ckpt["format"] == "ganedge.checkpoint" and ckpt["arch"] == "dcgan"
    assert ckpt["step"] == TRAIN_STEPS and ckpt["arch_config"]["image_size"] == 32


@pytest.mark.slow
def test_export_has_symbolic_batch_and_contract(exported_model: Path) -> None:
    model = onnx.load(str(exported_model))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert {p.key for p in model.metadata_props} >= {"ganedge.contract", "ganedge.format_version"}


@pytest.mark.slow
def test_sample_writes_an_8x8_grid(exported_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    run_cli("sample", str(exported_model), "-n", "64", "-o", str(out))
    with Image.open(out) as img:
        # 8 cells of 32 px enlarged to 64 plus 9 gaps of 2 px each way, grayscale
        assert img.size == (8 * 64 + 9 * 2, 8 * 64 + 9 * 2) and img.mode == "L"
        pixels = np.asarray(img)
    assert pixels.std() > 10, "grid is blank"


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_differs(exported_model: Path, tmp_path: Path) -> None:
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    for path, seed in zip(paths, ("7", "7", "8")):
        run_cli("sample", str(exported_model), "-n", "16", "--seed", seed, "-o", str(path))
    a, b, c = (p.read_bytes() for p in paths)
    assert a == b and a != c


@pytest.mark.slow
def test_info_shows_contract_and_provider(exported_model: Path) -> None:
    out = run_cli("info", str(exported_model)).stdout
    assert "latent_dim: 64" in out and "CPUExecutionProvider" in out
    assert f"step: {TRAIN_STEPS}" in out


@pytest.mark.slow
def test_bad_input_is_one_line_and_nonzero(exported_model: Path, tmp_path: Path) -> None:
    result = run_cli("sample", str(exported_model), "-n", "0", "-o", str(tmp_path / "x.png"),
                     check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: -n: must be at least 1 (got 0)"
    assert not list(tmp_path.iterdir())


def test_export_of_a_non_checkpoint_fails_cleanly(tmp_path: Path) -> None:
    bogus = tmp_path / "ckpt.pt"
    bogus.write_bytes(b"not a checkpoint")
    result = run_cli("export", str(bogus), check=False)
    assert result.returncode == 1 and "not a ganedge checkpoint" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "model.onnx").exists()
