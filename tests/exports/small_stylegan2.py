"""A small conditional StyleGAN2 from the trainer, with non-zero noise strengths and w_avg,
exported by the real exporter: what the StyleGAN2 end-to-end and Triton tests run."""

from __future__ import annotations

from pathlib import Path

import torch

from exports import ExportResult, export_generator
from trainer.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

CLASSES = 3


def export_small_stylegan2(folder: Path) -> tuple[StyleGAN2Generator, Path, ExportResult]:
    """(the eval-mode generator, its exported file in ``folder``, the export's result)."""
    torch.manual_seed(0)
    cfg = StyleGAN2Config(z_dim=8, c_dim=CLASSES, w_dim=8, img_resolution=16, img_channels=3,
                          channel_base=64, channel_max=8, mapping_layers=2, conv_clamp=256)
    gen = StyleGAN2Generator(cfg)
    with torch.no_grad():
        gen.mapping.w_avg.normal_()
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.3)
    path = folder / "sg2.onnx"
    result = export_generator(gen, path, latent_dim=8, num_classes=CLASSES)
    return gen.eval(), path, result
