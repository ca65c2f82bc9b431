"""What a user gets for a slip (a folder where a file goes, a mistyped command) and what
``ganedge info`` shows for each kind of model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stylegan_graph import NUM_WS, W_DIM, tiny_stylegan
from tests.ganedge.conftest import invoke


@pytest.mark.parametrize(("args", "line"), [
    (["sample"], "MODEL: '{d}' is a folder: give a .onnx or .ort file path"),
    (["info"], "MODEL: '{d}' is a folder: give a .onnx or .ort file path"),
    (["walk"], "MODEL: '{d}' is a folder: give a .onnx or .ort file path"),
    (["bench"], "model: '{d}' is a folder: give a .onnx file path"),
    (["export"], "CHECKPOINT: '{d}' is a folder: give a ckpt.pt path"),
])
def test_a_folder_where_a_file_goes_says_so(args: list[str], line: str, tmp_path: Path) -> None:
    result = invoke(*args, str(tmp_path))
    assert (result.exit_code, result.stderr) == (2, f"error: {line.format(d=tmp_path)}\n")


def test_a_missing_model_still_says_it_does_not_exist(tmp_path: Path) -> None:
    result = invoke("info", str(tmp_path / "none.onnx"))
    assert result.stderr == (f"error: MODEL: '{tmp_path / 'none.onnx'}' does not exist: give a "
                             ".onnx or .ort file path\n")


@pytest.mark.parametrize(("typed", "line"), [
    ("samplr", "error: No such command 'samplr'. Did you mean 'sample'? (see `ganedge -h`)\n"),
    ("exprot", "error: No such command 'exprot'. Did you mean 'export'? (see `ganedge -h`)\n"),
    ("evl", "error: No such command 'evl'. Did you mean 'eval'? (see `ganedge -h`)\n"),
    ("xyz", "error: No such command 'xyz'. (see `ganedge -h`)\n"),
])
def test_a_mistyped_command_gets_the_closest_name(typed: str, line: str) -> None:
    result = invoke(typed, "-n", "3")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line)


def test_info_on_a_direct_model_shows_only_what_applies() -> None:
    out = invoke("info").stdout  # the bundled DCGAN
    for absent in ("num_ws", "w_avg", "ws_input_name", "noise_mode", "label_input_name",
                   "mapping_layers", "channel_max", "fp32_parity"):
        assert f" {absent}:" not in out, absent
    assert out.count("max_err 2.98e-07") == 1, "parity once"
    assert "\nparity:\n" in out and "  arch: dcgan\n" in out and "  base_channels: 16\n" in out


def test_info_on_stylegan_and_conditional_models(tmp_path: Path, models: dict[str, Path]) -> None:
    out = invoke("info", str(tiny_stylegan(tmp_path / "sg.onnx"))).stdout
    assert f"  num_ws: {NUM_WS}\n" in out and f"  w_avg: {W_DIM} values\n" in out
    assert "label_input_name" not in out
    assert "  label_input_name: label\n" in invoke("info", str(models["cond"])).stdout
