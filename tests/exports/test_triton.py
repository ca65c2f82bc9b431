"""Triton repositories from the exporter: `ganedge export --format triton` from a checkpoint, and
a traced StyleGAN2 (real graph, not a hand-built one) split into an ensemble whose pieces, run in
sequence, give the runtime's images. The configs' own checks live in tests/ganedge/test_triton.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

import ganedge
from exports import export_generator
from ganedge.triton import write_repository
from tests.conftest import run_cli
from tests.ganedge.test_triton import DataType, check_against_graph, parse
from trainer.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

CLASSES = 3


def test_export_format_triton_from_a_checkpoint(trained_run: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    result = run_cli("export", str(trained_run / "ckpt.pt"), "--format", "triton", "-o",
                     str(repo), "--pixels", "uint8")
    assert f"wrote {repo / 'model-uint8-out'}/" in result.stdout
    assert "parity" in result.stdout, "the export's own steps are reported"
    config = check_against_graph(repo / "model-uint8-out")
    assert DataType.Name(config.output[0].data_type) == "TYPE_UINT8"
    assert sorted(p.name for p in repo.iterdir()) == ["model-uint8-out"]
    again = run_cli("export", str(trained_run / "ckpt.pt"), "--format", "triton", "-o",
                    str(repo), "--pixels", "uint8", check=False)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == (f"error: --output: model folder '{repo / 'model-uint8-out'}' exists "
                            "and is not empty: give --force to replace it, or another --output\n")


@pytest.fixture(scope="module")
def stylegan2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small conditional StyleGAN2 from the trainer, with noise and w_avg set, exported."""
    torch.manual_seed(0)
    cfg = StyleGAN2Config(z_dim=8, c_dim=CLASSES, w_dim=8, img_resolution=16, img_channels=3,
                          channel_base=64, channel_max=8, mapping_layers=2, conv_clamp=256)
    gen = StyleGAN2Generator(cfg)
    with torch.no_grad():
        gen.mapping.w_avg.normal_()
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
    path = tmp_path_factory.mktemp("sg2") / "sg2.onnx"
    export_generator(gen, path, latent_dim=8, num_classes=CLASSES)
    return path


def test_traced_stylegan2_ensemble_equals_the_runtime(stylegan2: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    written = write_repository(stylegan2, repo, name="sg2")
    for model in written.models[1:]:
        check_against_graph(repo / model)
    assert parse(repo / "sg2").platform == "ensemble"
    gen = ganedge.load(stylegan2)
    z, labels, psi = gen.latents(range(6)), np.array([0, 1, 2, 2, 1, 0]), 0.6
    run = {part: ort.InferenceSession(str(repo / f"sg2_{part}" / "1" / "model.onnx"),
                                      providers=["CPUExecutionProvider"]).run
           for part in ("mapping", "truncation", "synthesis")}
    (ws,) = run["mapping"](None, {"z": z, "label": labels})
    np.testing.assert_array_equal(ws, gen.mapping(z, labels))
    (truncated,) = run["truncation"](None, {"ws": ws, "psi": np.full((6, 1), psi, np.float32)})
    (images,) = run["synthesis"](None, {"ws": truncated})
    np.testing.assert_allclose(images, gen.generate(z, labels, truncation=psi), atol=1e-6)
    sizes = {m: (repo / m / "1" / "model.onnx").stat().st_size for m in written.models[1:]}
    assert sizes["sg2_mapping"] + sizes["sg2_synthesis"] <= stylegan2.stat().st_size, \
        "each half holds only its own weights"
