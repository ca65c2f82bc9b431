"""StyleGAN2: resampling against a direct upfirdn2d, the three modulated-conv forms, mapping,
truncation, style mixing, noise modes, NVlabs-compatible names, sizes, training steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganedge.errors import ConfigError
from trainer.config import ArchConfig, TrainConfig, preset
from trainer.loop import train
from trainer.models import build_discriminator, build_generator
from trainer.models.sg2ops import (
    MODCONV_IMPLS,
    conv_down2,
    conv_up2,
    filter2d,
    modulated_conv2d,
    setup_filter,
    upsample2d,
)
from trainer.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator
from trainer.regularizers import PathLength


def upfirdn2d_direct(x: np.ndarray, f: np.ndarray, up: int, down: int,
                     pad: tuple[int, int], gain: float) -> np.ndarray:
    """The textbook definition: zero-stuff by ``up``, pad (before, after), convolve, keep every
    ``down``-th pixel. x (B, C, H, W)."""
    b, c, h, w = x.shape
    z = np.zeros((b, c, h * up, w * up))
    z[:, :, ::up, ::up] = x
    z = np.pad(z, ((0, 0), (0, 0), pad, pad))
    k = f.shape[0]
    out = np.zeros((b, c, z.shape[2] - k + 1, z.shape[3] - k + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            # convolution: the filter flipped against the window
            out[:, :, i, j] = (z[:, :, i:i + k, j:j + k] * f[::-1, ::-1] * gain).sum((2, 3))
    return out[:, :, ::down, ::down]


def tiny(**overrides: object) -> StyleGAN2Config:
    base = dict(z_dim=8, w_dim=8, img_resolution=16, img_channels=1, channel_base=64,
                channel_max=8, mapping_layers=2)
    return StyleGAN2Config(**{**base, **overrides})


def test_resampling_matches_upfirdn2d_definition() -> None:
    torch.manual_seed(0)
    # an asymmetric filter, so a flipped kernel would show
    f = torch.tensor([[1.0, 2, 0, 1], [0, 3, 1, 2], [1, 1, 4, 0], [2, 0, 1, 1]]) / 20
    x = torch.randn(2, 3, 5, 5)
    up = upsample2d(x, f, 3).numpy()
    np.testing.assert_allclose(up, upfirdn2d_direct(x.numpy(), f.numpy(), 2, 1, (2, 1), 4),
                               atol=1e-5)
    filt = filter2d(x, f, 2, 3).numpy()
    np.testing.assert_allclose(filt, upfirdn2d_direct(x.numpy(), f.numpy(), 1, 1, (2, 2), 1),
                               atol=1e-5)


def test_conv_resampling_matches_filter_then_conv() -> None:
    torch.manual_seed(0)
    f, x, w = setup_filter(), torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3)
    # up: transposed conv then the filter (pad 1, gain 4) — against zero-stuffing by hand
    stuffed = torch.zeros(2, 3, 15, 15)
    stuffed[:, :, 2:13:2, 2:13:2] = x
    direct_t = torch.nn.functional.conv2d(stuffed, w.flip([2, 3]))
    ref = upfirdn2d_direct(direct_t.numpy(), f.numpy(), 1, 1, (1, 1), 4)
    np.testing.assert_allclose(conv_up2(x, w, f).numpy(), ref, atol=1e-4)
    down = conv_down2(x, w, f)
    assert down.shape == (2, 4, 3, 3)


@pytest.mark.parametrize("up", [False, True])
@pytest.mark.parametrize("demodulate", [False, True])
def test_modulated_conv_forms_agree(up: bool, demodulate: bool) -> None:
    torch.manual_seed(0)
    x, w, styles = torch.randn(3, 4, 8, 8), torch.randn(5, 4, 3, 3), torch.randn(3, 4)
    outs = [modulated_conv2d(x, w, styles, demodulate=demodulate, up=up, f=setup_filter(),
                             impl=impl) for impl in MODCONV_IMPLS]
    for out in outs[1:]:
        torch.testing.assert_close(out, outs[0], atol=1e-4, rtol=1e-4)
    assert outs[0].shape == (3, 5, 16 if up else 8, 16 if up else 8)


def test_demodulation_normalises_output_scale() -> None:
    # with unit-variance input, demodulated outputs have roughly unit variance whatever the styles
    torch.manual_seed(0)
    x, w = torch.randn(4, 64, 16, 16), torch.randn(32, 64, 3, 3)
    out = modulated_conv2d(x, w, torch.rand(4, 64) * 10)
    assert 0.7 < float(out.std()) < 1.3


def test_parameter_names_follow_nvlabs_layout() -> None:
    names = set(StyleGAN2Generator(tiny(c_dim=3)).state_dict())
    for name in ("mapping.fc0.weight", "mapping.fc1.bias", "mapping.embed.weight", "mapping.w_avg",
                 "synthesis.b4.const", "synthesis.b4.conv1.affine.weight",
                 "synthesis.b4.conv1.noise_const", "synthesis.b4.conv1.noise_strength",
                 "synthesis.b8.conv0.weight", "synthesis.b8.conv0.resample_filter",
                 "synthesis.b16.torgb.affine.bias", "synthesis.b16.resample_filter"):
        assert name in names


def test_num_ws_and_channels() -> None:
    cfg = StyleGAN2Config(img_resolution=256, channel_base=32768, channel_max=512)
    assert cfg.num_ws == 14 and cfg.channels(4) == 512 and cfg.channels(256) == 128
    assert tiny().num_ws == 6


def test_eval_is_deterministic_and_training_draws_noise() -> None:
    torch.manual_seed(0)
    g = StyleGAN2Generator(tiny())
    with torch.no_grad():
        for layer in g.modules():
            if hasattr(layer, "noise_strength"):
                layer.noise_strength.fill_(0.5)
        z = torch.randn(2, 8)
        g.train()
        assert not torch.equal(g(z), g(z))
        g.eval()
        assert torch.equal(g(z), g(z))


def test_truncation_zero_is_the_average_and_w_avg_tracks() -> None:
    torch.manual_seed(0)
    g = StyleGAN2Generator(tiny())
    g.train()
    g.mapping(torch.randn(16, 8))
    assert g.mapping.w_avg.abs().sum() > 0  # moved from zero toward the batch mean
    g.eval()
    with torch.no_grad():
        ws = g.mapping(torch.randn(5, 8), truncation_psi=0.0)
        torch.testing.assert_close(ws, g.mapping.w_avg.expand(5, 6, 8))
        cut = g.mapping(torch.randn(5, 8), truncation_psi=0.0, truncation_cutoff=2)
        torch.testing.assert_close(cut[:, :2], g.mapping.w_avg.expand(5, 2, 8))
        assert not torch.allclose(cut[:, 2:], g.mapping.w_avg.expand(5, 4, 8))


def test_style_mixing() -> None:
    torch.manual_seed(0)
    g = StyleGAN2Generator(tiny()).eval()
    z, z2 = torch.randn(3, 8), torch.randn(3, 8)
    with torch.no_grad():
        plain = g(z)
        torch.testing.assert_close(g(z, mix=(z, torch.tensor(2))), plain)
        torch.testing.assert_close(g(z, mix=(z2, torch.tensor(6))), plain)  # cutoff = num_ws
        ws = g.mix_styles(g.mapping(z), None, z2, torch.tensor(2))
        torch.testing.assert_close(ws[:, :2], g.mapping(z)[:, :2])
        torch.testing.assert_close(ws[:, 2:], g.mapping(z2)[:, 2:])
    gen = torch.Generator().manual_seed(0)
    cutoffs = {int(g.mixing_inputs(4, gen)[1]) for _ in range(50)}
    assert cutoffs <= set(range(1, 7)) and 6 in cutoffs and len(cutoffs) > 2


@pytest.mark.parametrize(("size", "channels", "classes"), [(16, 1, 0), (32, 3, 10), (256, 3, 0)])
def test_registry_sizes_and_conditioning(size: int, channels: int, classes: int) -> None:
    cfg = ArchConfig(latent_dim=8, channels=channels, image_size=size, base_channels=2,
                     channel_max=8, mapping_layers=2, num_classes=classes)
    g, d = build_generator("stylegan2", cfg).eval(), build_discriminator("stylegan2", cfg)
    labels = torch.tensor([0, 4, 9, 1]) if classes else None
    with torch.no_grad():
        images = g(torch.randn(4, 8), labels)
        assert images.shape == (4, channels, size, size)
        assert d(images, labels).shape == (4,)
        if classes:
            z = torch.randn(1, 8).expand(2, 8)
            a, b = g(z, torch.tensor([1, 2]))
            assert not torch.equal(a, b)


def test_preset_trains_a_few_steps(tmp_path: Path) -> None:
    cfg = preset("digits-stylegan2", steps=3, batch_size=8, log_every=0, sample_every=0,
                 checkpoint_every=0, r1_every=2)
    result = train(cfg, tmp_path)
    assert result.step == 3 and np.isfinite([result.d_loss, result.g_loss]).all()
    state = torch.load(result.checkpoint, weights_only=True)
    assert state["generator_ema"]["mapping.w_avg"].abs().sum() > 0


def test_path_length_penalty() -> None:
    torch.manual_seed(0)
    g = StyleGAN2Generator(tiny())
    reg = PathLength(TrainConfig(batch_size=8, pl_every=2, pl_weight=2.0))
    gen = torch.Generator().manual_seed(0)
    assert reg.g_penalty(g, None, 1, gen) is None  # lazy: only every pl_every steps
    penalty = reg.g_penalty(g, None, 2, gen)
    assert penalty is not None and torch.isfinite(penalty) and float(reg.pl_mean) > 0
    penalty.backward()
    assert g.synthesis.b16.conv1.weight.grad.abs().sum() > 0
    assert float(g.mapping.w_avg.abs().sum()) == 0  # the penalty's mapping call leaves w_avg
    with pytest.raises(ConfigError, match="path_length needs a mapping"):
        reg.g_penalty(build_generator("dcgan", ArchConfig(image_size=16)), None, 2, gen)
