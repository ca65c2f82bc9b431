"""ORT format: `ganedge convert --to ort` carries the contract inside the .ort file, and every
command and ganedge.load() take .ort models with the same images as the .onnx."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import ganedge
from ganedge.errors import InputError
from ganedge.runtime.convert import convert_to_ort
from ganedge.runtime.model import default_model_path
from tests.ganedge.conftest import invoke

SEEDS = list(range(16))


@pytest.fixture(scope="module")
def digits_ort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ort") / "digits.ort"
    result = invoke("convert", str(default_model_path()), "--to", "ort", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out} (") and "contract carried" in result.stdout
    return out


def test_ort_model_samples_the_same_images(digits_ort: Path) -> None:
    onnx_gen, ort_gen = ganedge.load(), ganedge.load(digits_ort)
    assert ort_gen.contract == onnx_gen.contract
    assert ort_gen.provenance == onnx_gen.provenance
    np.testing.assert_array_equal(ort_gen.sample(SEEDS), onnx_gen.sample(SEEDS))
    np.testing.assert_array_equal(ort_gen.walk([0, 1], frames=4), onnx_gen.walk([0, 1], frames=4))


def test_every_command_takes_an_ort_model(digits_ort: Path, tmp_path: Path) -> None:
    info = invoke("info", str(digits_ort), "--json")
    assert json.loads(info.stdout)["contract"]["latent_dim"] == 64
    sample = invoke("sample", str(digits_ort), "-n", "4", "-o", str(tmp_path / "g.png"))
    assert sample.exit_code == 0, sample.output
    walk = invoke("walk", str(digits_ort), "--seeds", "0-1", "--frames", "2",
                  "-o", str(tmp_path / "w.gif"), "--no-progress")
    assert walk.exit_code == 0, walk.output
    assert invoke("web", str(digits_ort), "-o", str(tmp_path / "site"), "-q").exit_code == 0
    assert (tmp_path / "site" / "model.ort").read_bytes() == digits_ort.read_bytes()


@pytest.mark.parametrize("kind", ["uint8", "cond"])
def test_uint8_and_conditional_models_convert(models: dict[str, Path], kind: str,
                                              tmp_path: Path) -> None:
    result = convert_to_ort(models[kind], tmp_path / f"{kind}.ort")
    assert result.max_abs_diff <= 1e-4
    a, b = ganedge.load(models[kind]), ganedge.load(result.path)
    np.testing.assert_array_equal(b.sample(SEEDS), a.sample(SEEDS))


def test_default_name_and_umask(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(default_model_path().read_bytes())
    old = os.umask(0o077)
    try:
        result = convert_to_ort(model)
    finally:
        os.umask(old)
    assert result.path == tmp_path / "m.ort"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.ort"]


def test_bad_requests_write_nothing(tmp_path: Path) -> None:
    bad_to = invoke("convert", str(default_model_path()), "--to", "tflite",
                    "-o", str(tmp_path / "m.ort"))
    assert bad_to.exit_code == 2
    assert bad_to.stderr.strip() == ("error: Invalid value for '--to': 'tflite' is "
                                     "not one of 'ort'. (see `ganedge convert -h`)")
    with pytest.raises(InputError, match="^out: 'm.onnx' does not end in .ort"):
        convert_to_ort(default_model_path(), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
