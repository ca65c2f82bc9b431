import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganedge.io.datasets import load_dataset
from ganedge.io.imaging import to_uint8_nhwc
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("eval_cache")


@pytest.mark.slow
def test_eval_model_prints_figures_floor_and_protocol(exported_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = run_cli("eval", str(exported_model), "--data", "digits", "-n", "300", "--seed", "5",
                     "-o", str(out))
    progress = [line.split(" (at ")[0] for line in result.stdout.splitlines()
                if line.startswith("eval: ")]
    assert progress == ["eval: real data and feature network", "eval: sampling 300 images",
                        "eval: features and metrics"], "stages as lines when not on a terminal"
    lines = result.stdout.splitlines()[len(progress):]
    assert lines[0].split() == ["metric", "generated", "real-vs-real", "better"]
    assert [line.split()[0] for line in lines[1:9]] == [
        "FD", "KID", "precision", "recall", "density", "coverage", "modes", "KL(gen||real)"]
    assert "protocol:" in lines and "  n_fake: 300" in lines and "  fake_seeds: 5-304" in lines
    saved = json.loads(out.read_text())
    assert saved["protocol"]["model"] == str(exported_model)
    assert saved["figures"]["FD"]["floor"] < saved["figures"]["FD"]["value"]


@pytest.mark.slow
def test_eval_images_from_npz(tmp_path: Path) -> None:
    data = load_dataset("digits", 32)
    np.savez(tmp_path / "fakes.npz", images=to_uint8_nhwc(data.images[data.labels == 7]))
    result = json.loads(run_cli("eval", "--images", str(tmp_path / "fakes.npz"), "--json",
                                "--grid", str(tmp_path / "modes.png")).stdout)
    assert result["figures"]["modes covered"]["value"] == 1 and result["collapse"] is True
    with Image.open(tmp_path / "modes.png") as grid:
        assert grid.size == (8 * 34 + 2, 10 * 34 + 2)


@pytest.mark.slow
@pytest.mark.parametrize("args, message", [
    (["{model}", "--data", "mnist"], "error: --data: no dataset, folder or .npz file named "
                                     "'mnist': give digits, stacked-digits, an image folder or a "
                                     ".npz file"),
    (["{model}", "--data", "{empty}"], "error: --data: folder '{empty}' holds no "
                                       "png/jpg/jpeg/webp/bmp images: point it at a folder of "
                                       "images"),
    (["--images", "{empty}"], "error: --images: folder '{empty}' holds no png/jpg/jpeg/webp/bmp "
                              "images: point it at a folder of images"),
    (["{model}", "--images", "{empty}"], "error: model/--images: give a model file or --images, "
                                         "not both"),
    (["{model}", "-n", "5"], "error: -n: must be at least 6 (got 5): precision, recall, "
                             "density and coverage compare each image with its k=5 nearest others"),
    (["{model}", "-o", "{empty}/no/r.json"], "error: --output: folder '{empty}/no' does not "
                                             "exist: create it first"),
    (["{model}", "--inception", "{empty}/i.onnx"], "error: --inception: '{empty}/i.onnx' does "
     "not exist: give a local Inception .onnx file (ganedge never downloads weights)"),
])
def test_bad_input_is_one_line(exported_model: Path, tmp_path: Path, args: list[str],
                               message: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    fill = {"empty": empty, "model": exported_model}
    result = run_cli("eval", *[a.format(**fill) for a in args], check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message.format(**fill)]
    assert result.stdout == "" or result.stdout.startswith("eval: "), "at most a progress line"
    assert "\n" not in result.stdout.strip()


@pytest.mark.slow
def test_bundled_model_meets_its_quality_bar() -> None:
    """The default model (the digits-dcgan preset) by the issue's bar: FD within 2× the
    real-vs-real floor, 10/10 modes, class KL < 0.05, mean classifier confidence ≥ 0.9."""
    report = json.loads(run_cli("eval", "--data", "digits", "--json").stdout)
    figures = report["figures"]
    assert figures["FD"]["value"] <= 2 * figures["FD"]["floor"], figures["FD"]
    assert figures["modes covered"]["value"] == 10 and figures["KL(gen||real)"]["value"] < 0.05
    assert figures["mean confidence"]["value"] >= 0.9, figures["mean confidence"]
    assert report["protocol"]["model"].endswith("digits.onnx")
