"""The Node.js example in docs/embedding.md runs as written and draws Python's image of a seed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganedge
from ganedge.web import build_site
from tests.ganedge.graphs import tiny_generator

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="Node.js is not installed"),
    pytest.mark.skipif(not (NODE_MODULES / "onnxruntime-node").is_dir(),
                       reason="onnxruntime-node is not installed: "
                              "ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix tests/node"),
]


def example_code() -> str:
    section = (ROOT / "docs" / "embedding.md").read_text().split("## From Node.js", 1)[1]
    return re.search(r"```js\n(.*?)```", section, re.S).group(1)


def run_example(model: Path | None, seed: int, tmp_path: Path) -> np.ndarray:
    site = build_site(model, tmp_path / "site").path
    (tmp_path / "seed.mjs").write_text(example_code())
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # resolves 'onnxruntime-node'
    subprocess.run([NODE, "seed.mjs", str(site), str(seed), "out.png"], cwd=tmp_path, check=True,
                   capture_output=True)
    image = np.asarray(Image.open(tmp_path / "out.png"))
    return image[..., None] if image.ndim == 2 else image


def assert_close(node: np.ndarray, python: np.ndarray) -> None:
    diff = np.abs(node.astype(np.int16) - python.astype(np.int16))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.99


def test_example_is_about_twenty_lines() -> None:
    assert len([line for line in example_code().splitlines() if line.strip()]) <= 30


def test_bundled_model_seed_png_matches_python(tmp_path: Path) -> None:
    assert_close(run_example(None, 42, tmp_path), ganedge.load().sample([42])[0])


def test_conditional_rgb_model_seed_png_matches_python(tmp_path: Path) -> None:
    model = tiny_generator(tmp_path / "cond.onnx", num_classes=3, channels=3, size=6)
    assert_close(run_example(model, 7, tmp_path), ganedge.load(model).sample([7])[0])
