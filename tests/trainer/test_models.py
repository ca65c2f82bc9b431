"""Every registered architecture: shapes, range, conditional variants, ONNX with a symbolic
batch."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
import torch

from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, build_discriminator, build_generator

TESTED_ARCHITECTURES = ("mlp", "dcgan", "resize_conv", "resnet", "stylegan2")
UNSQUASHED = ("stylegan2",)  # images only roughly in [-1, 1], as NVlabs' StyleGAN2 gives them
CASES = [(arch, size, ch, classes) for arch in TESTED_ARCHITECTURES
         for size, ch, classes in ((16, 1, 0), (32, 3, 10))]


@pytest.mark.parametrize(("arch", "size", "channels", "classes"), CASES)
def test_generator_and_discriminator_shapes(arch: str, size: int, channels: int,
                                            classes: int) -> None:
    cfg = ArchConfig(latent_dim=8, channels=channels, image_size=size, base_channels=4,
                     num_classes=classes)
    gen, disc = build_generator(arch, cfg), build_discriminator(arch, cfg)
    z, labels = torch.randn(3, 8), (torch.tensor([0, 4, 9]) if classes else None)
    images = gen(z, labels)
    assert images.shape == (3, channels, size, size)
    assert arch in UNSQUASHED or images.abs().max() <= 1.0
    assert disc(images, labels).shape == (3,)


def test_largest_size_builds() -> None:
    cfg = ArchConfig(latent_dim=8, image_size=128, base_channels=2)
    assert build_generator("resize_conv", cfg)(torch.randn(2, 8)).shape == (2, 1, 128, 128)


def test_conditional_generator_depends_on_label() -> None:
    gen = build_generator("dcgan", ArchConfig(latent_dim=8, image_size=16, base_channels=4,
                                              num_classes=10)).eval()
    z = torch.randn(1, 8)
    assert not torch.equal(gen(z, torch.tensor([1])), gen(z, torch.tensor([2])))


@pytest.mark.parametrize("arch", TESTED_ARCHITECTURES)
@pytest.mark.parametrize("classes", [0, 10])
def test_onnx_trace_keeps_batch_symbolic(arch: str, classes: int) -> None:
    cfg = ArchConfig(latent_dim=8, image_size=16, base_channels=4, num_classes=classes)
    gen = build_generator(arch, cfg).eval()
    args = ((torch.zeros(2, 8), torch.zeros(2, dtype=torch.int64)) if classes
            else (torch.zeros(2, 8),))
    names = ["z", "label"][: len(args)]
    buffer = io.BytesIO()
    torch.onnx.export(gen, args, buffer, input_names=names, output_names=["images"],
                      opset_version=17, dynamic_axes={n: {0: "batch"} for n in [*names, "images"]},
                      dynamo=False)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    z = torch.randn(5, 8)
    labels = torch.tensor([0, 1, 2, 3, 9])
    feeds = {"z": z.numpy(), **({"label": labels.numpy()} if classes else {})}
    (out,) = session.run(None, feeds)
    with torch.no_grad():
        expected = gen(z, labels if classes else None).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_every_registered_architecture_is_tested() -> None:
    assert set(ARCHITECTURES.names()) <= set(TESTED_ARCHITECTURES)
