"""Guard: every registered architecture exports and passes parity at batch 1, 3 and 64."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest
import torch

from exports import export_generator
from exports.onnx import is_stylegan
from ganedge.errors import ConfigError
from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, build_generator


def _tiny_config(arch: str) -> ArchConfig:
    names = {f.name for f in fields(ArchConfig)}
    extra = {"num_classes": 3} if "num_classes" in names and "cond" in arch else {}
    return ArchConfig(latent_dim=8, image_size=16, base_channels=4, **extra)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHITECTURES.names())
def test_architecture_exports_with_parity(arch: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = _tiny_config(arch)
    generator = build_generator(arch, cfg).eval()
    num_classes = getattr(cfg, "num_classes", 0)
    result = export_generator(generator, tmp_path / f"{arch}.onnx", latent_dim=cfg.latent_dim,
                              num_classes=num_classes)
    assert [b.batch for b in result.parity.batches] == [1, 3, 64]
    assert result.parity.ok, result.parity.to_dict()
    assert (result.contract.height, result.contract.num_classes) == (16, num_classes)


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHITECTURES.names())
def test_architecture_exports_int8_with_uint8_output(arch: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = replace(_tiny_config(arch), num_classes=3)  # conditional: the label path quantizes too
    generator = build_generator(arch, cfg).eval()
    if is_stylegan(generator):
        with pytest.raises(ConfigError, match="StyleGAN models export as fp32"):
            export_generator(generator, tmp_path / f"{arch}.onnx", latent_dim=cfg.latent_dim,
                             num_classes=3, precision="int8", output="uint8")
        return
    result = export_generator(generator, tmp_path / f"{arch}.onnx", latent_dim=cfg.latent_dim,
                              num_classes=3, precision="int8", output="uint8")
    assert result.parity.ok, result.parity.to_dict()
    assert (result.contract.output_dtype, result.provenance["precision"]) == ("uint8", "int8")
    assert [s.name for s in result.steps][-3:] == ["int8", "uint8", "write"]
