"""``ganedge info``: contract, provenance, parity, inputs/outputs, size."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ganedge.conftest import invoke


def test_info_lists_inputs_outputs_and_contract(models: dict[str, Path]) -> None:
    result = invoke("info", str(models["cond"]))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "  z: tensor(float) (batch, 8)\n" in out and "  label: tensor(int64) (batch)\n" in out
    assert "  images: tensor(float) (batch, 3, 6, 6)\n" in out
    assert "  num_classes: 3\n" in out and f"size_bytes: {models['cond'].stat().st_size}\n" in out


def test_info_json_of_the_bundled_model() -> None:
    report = json.loads(invoke("info", "--json").stdout)
    assert Path(report["file"]).name == "digits.onnx"
    assert report["contract"]["latent_dim"] == 64 and report["providers"][0].endswith("Provider")
    assert report["outputs"] == {"images": "tensor(float) (batch, 1, 32, 32)"}
    assert report["provenance"]["step"] > 0 and report["parity"]


def test_info_of_a_third_party_model(models: dict[str, Path]) -> None:
    result = invoke("info", str(models["bare"]))
    assert result.exit_code == 1 and "--latent-dim" in result.stderr
    report = json.loads(invoke("info", str(models["bare"]), "--latent-dim", "8", "--json").stdout)
    assert report["contract"]["height"] == 4 and report["provenance"] == {}
