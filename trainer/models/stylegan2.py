"""StyleGAN2 (Karras et al. 2020) with the 'skip' generator and the residual discriminator.

The math and the parameter names follow NVlabs' StyleGAN2-ADA (``mapping.fc0.weight``,
``synthesis.b4.const``, ``synthesis.b8.conv0.affine.weight``, ``…noise_const``, ``mapping.w_avg``)
so that an NVlabs generator's tensors load into :class:`StyleGAN2Generator` one to one. This is
an independent implementation: equalized learning rate by runtime weight gains, a mapping network
z → w with its moving average w_avg, modulated/demodulated 3×3 convolutions, per-layer constant or
random noise with a learned strength, a constant 4×4 input and skip-connected ToRGB outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganedge.errors import ConfigError
from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.sg2ops import (
    LRELU_GAIN,
    MODCONV_IMPLS,
    bias_act,
    conv_down2,
    downsample2d_skip,
    modulated_conv2d,
    normalize_2nd_moment,
    setup_filter,
    upsample2d,
)

Tensor = torch.Tensor
NOISE_MODES = ("random", "const", "none")


@dataclass(frozen=True)
class StyleGAN2Config:
    """A StyleGAN2 generator's shape, in NVlabs' terms (their constructor kwargs map 1:1)."""

    z_dim: int = 512  # length of z
    c_dim: int = 0  # number of classes (one-hot label width); 0 = unconditional
    w_dim: int = 512  # length of w
    img_resolution: int = 256  # output size, a power of two ≥ 4
    img_channels: int = 3  # 1 or 3
    channel_base: int = 32768  # a block at resolution r has min(channel_base // r, channel_max)
    channel_max: int = 512  # channels
    mapping_layers: int = 8  # fully connected layers z → w
    embed_features: int | None = None  # label embedding width (None: w_dim)
    layer_features: int | None = None  # hidden width of the mapping (None: w_dim)
    mapping_lr_multiplier: float = 0.01  # the mapping learns 100× slower
    w_avg_beta: float = 0.995  # decay of the tracked average of w
    conv_clamp: float | None = None  # clamp conv outputs to ±this (NVlabs uses 256)
    style_mixing_prob: float = 0.9  # chance a training batch swaps to a second w at a random layer

    def __post_init__(self) -> None:
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise ConfigError(f"img_resolution: must be a power of two >= 4 (got {res})")
        for name in ("z_dim", "w_dim", "channel_base", "channel_max", "mapping_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1 (got {getattr(self, name)})")
        if not 0 <= self.style_mixing_prob <= 1:
            raise ConfigError(f"style_mixing_prob: must be in [0, 1] "
                              f"(got {self.style_mixing_prob})")

    @property
    def resolutions(self) -> list[int]:
        """Block resolutions 4, 8, …, img_resolution."""
        return [2 ** i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    def channels(self, res: int) -> int:
        """Feature channels of the block at resolution ``res``."""
        return min(self.channel_base // res, self.channel_max)

    @property
    def num_ws(self) -> int:
        """Number of w vectors synthesis takes: two per block (one at 4×4) plus the last ToRGB."""
        return 2 * len(self.resolutions)

    @classmethod
    def from_arch(cls, cfg: ArchConfig) -> StyleGAN2Config:
        """The trainer's ArchConfig: ``base_channels`` is the width at full resolution, doubling
        per halving up to ``channel_max``; z and w both have ``latent_dim`` entries."""
        return cls(z_dim=cfg.latent_dim, c_dim=cfg.num_classes, w_dim=cfg.w_dim or cfg.latent_dim,
                   img_resolution=cfg.image_size, img_channels=cfg.channels,
                   channel_base=cfg.base_channels * cfg.image_size, channel_max=cfg.channel_max,
                   mapping_layers=cfg.mapping_layers)


class FullyConnected(nn.Module):
    """A linear layer with equalized learning rate: weight N(0, 1/lr_mul²) used × lr_mul/√in."""

    def __init__(self, in_features: int, out_features: int, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: Tensor) -> Tensor:
        y = x.matmul((self.weight * self.weight_gain).t())
        gain = LRELU_GAIN if self.activation == "lrelu" else 1.0
        return bias_act(y, self.bias * self.bias_gain, self.activation, gain)


class MappingNetwork(nn.Module):
    """z (B, z_dim) [+ labels (B,) int64] → w (B, w_dim) or ws (B, num_ws, w_dim); tracks w_avg
    in training and truncates toward it: w = w_avg + ψ·(w − w_avg) on the first ``cutoff`` ws."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: int | None, num_layers: int,
                 embed_features: int | None = None, layer_features: int | None = None,
                 lr_multiplier: float = 0.01, w_avg_beta: float | None = 0.995) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        embed = (embed_features or w_dim) if c_dim else 0
        hidden = layer_features or w_dim
        widths = [z_dim + embed] + [hidden] * (num_layers - 1) + [w_dim]
        if c_dim:
            self.embed = FullyConnected(c_dim, embed)
        for i in range(num_layers):
            self.add_module(f"fc{i}", FullyConnected(widths[i], widths[i + 1], "lrelu",
                                                     lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Tensor | None, labels: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool = True) -> Tensor:
        parts = []
        if self.z_dim:
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim:
            if labels is None:
                raise ValueError("a conditional StyleGAN2 mapping needs labels (B,) int64")
            onehot = F.one_hot(labels.long(), self.c_dim).float()
            parts.append(normalize_2nd_moment(self.embed(onehot)))
        x = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if self.w_avg_beta is not None and self.training and update_w_avg:
            self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if self.num_ws is None:
            return x
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            x = truncate(x, self.w_avg, truncation_psi, truncation_cutoff)
        return x


def truncate(ws: Tensor, w_avg: Tensor, psi: float, cutoff: int | None = None) -> Tensor:
    """ws (B, N, w_dim) pulled toward w_avg: w_avg + ψ·(w − w_avg) on the first ``cutoff`` ws."""
    n = ws.shape[1] if cutoff is None else cutoff
    head = w_avg.lerp(ws[:, :n], psi)
    return torch.cat([head, ws[:, n:]], 1)


class SynthesisLayer(nn.Module):
    """Modulated 3×3 conv (optionally 2× up) + noise + bias + lrelu·√2, clamped."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 up: bool = False, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.resolution, self.up, self.conv_clamp = resolution, up, conv_clamp
        self.register_buffer("resample_filter", setup_filter())
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_mode = "random"  # set by StyleGAN2Generator.train()/eval()
        self.impl = "activations"

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, up=self.up, f=self.resample_filter,
                             impl=self.impl)
        if self.noise_mode == "random":
            res = self.resolution
            x = x + torch.randn(x.shape[0], 1, res, res, device=x.device) * self.noise_strength
        elif self.noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        return bias_act(x, self.bias, "lrelu", LRELU_GAIN, self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1×1 conv without demodulation + bias: features → image channels."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnected(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)
        self.impl = "activations"

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, impl=self.impl)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | conv0 up) → conv1 → ToRGB added to the upsampled image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 img_channels: int, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.in_channels, self.img_channels = in_channels, img_channels
        self.register_buffer("resample_filter", setup_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, resolution, up=True,
                                        conv_clamp=conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim, resolution,
                                    conv_clamp=conv_clamp)
        self.torgb = ToRGBLayer(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: Tensor | None, img: Tensor | None, ws: Tensor) -> tuple[Tensor, Tensor]:
        # ws (B, num_conv + 1, w_dim): the last one is ToRGB's (shared with the next block)
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = self.conv1(x, ws[:, 0])
        else:
            x = self.conv1(self.conv0(x, ws[:, 0]), ws[:, 1])
        y = self.torgb(x, ws[:, self.num_conv])
        img = y if img is None else upsample2d(img, self.resample_filter, self.img_channels) + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) → images (B, C, R, R), roughly in [-1, 1] (not squashed)."""

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.resolutions = cfg.resolutions
        self.num_ws, self.w_dim = cfg.num_ws, cfg.w_dim
        for res in self.resolutions:
            in_ch = cfg.channels(res // 2) if res > 4 else 0
            self.add_module(f"b{res}", SynthesisBlock(in_ch, cfg.channels(res), cfg.w_dim, res,
                                                      cfg.img_channels, cfg.conv_clamp))

    def forward(self, ws: Tensor) -> Tensor:
        x = img = None
        start = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws[:, start:start + block.num_conv + 1])
            start += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """z (B, z_dim) [+ labels (B,) int64] → images (B, C, R, R): ``mapping`` then ``synthesis``.

    Training mode draws fresh noise and (with ``mix``) mixes styles; eval mode uses each layer's
    constant noise, so a seed always gives the same image. ``truncation_psi`` < 1 pulls w toward
    the tracked average (on the first ``truncation_cutoff`` ws when given).

    Example:
        >>> g = StyleGAN2Generator(StyleGAN2Config(z_dim=8, w_dim=8, img_resolution=16,
        ...                        img_channels=1, channel_base=64, channel_max=8)).eval()
        >>> g(torch.randn(2, 8)).shape
        torch.Size([2, 1, 16, 16])
    """

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.config = cfg
        self.z_dim, self.c_dim, self.w_dim = cfg.z_dim, cfg.c_dim, cfg.w_dim
        self.num_ws = cfg.num_ws
        self.synthesis = SynthesisNetwork(cfg)
        self.mapping = MappingNetwork(cfg.z_dim, cfg.c_dim, cfg.w_dim, cfg.num_ws,
                                      cfg.mapping_layers, cfg.embed_features, cfg.layer_features,
                                      cfg.mapping_lr_multiplier, cfg.w_avg_beta)
        self.set_noise_mode("random")

    def forward(self, z: Tensor, labels: Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None,
                mix: tuple[Tensor, Tensor] | None = None) -> Tensor:
        ws = self.mapping(z, labels, truncation_psi, truncation_cutoff)
        if mix is not None:
            ws = self.mix_styles(ws, labels, *mix)
        return self.synthesis(ws)

    def mix_styles(self, ws: Tensor, labels: Tensor | None, z2: Tensor, cutoff: Tensor) -> Tensor:
        """Style-mixing regularization: ws[:, cutoff:] from a second latent z2 (cutoff (), int64;
        cutoff = num_ws leaves ws as they are)."""
        ws2 = self.mapping(z2, labels, update_w_avg=False)
        keep = torch.arange(self.num_ws, device=ws.device)[None, :, None] < cutoff
        return torch.where(keep, ws, ws2)

    def mixing_inputs(self, batch: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        """A second latent batch and a cutoff for :meth:`mix_styles`, drawn from ``gen``: with
        probability ``style_mixing_prob`` a cutoff in [1, num_ws), otherwise num_ws (no mixing)."""
        z2 = torch.randn(batch, self.z_dim, generator=gen)
        cutoff = torch.randint(1, self.num_ws, (), generator=gen)
        mixed = torch.rand((), generator=gen) < self.config.style_mixing_prob
        return z2, torch.where(mixed, cutoff, torch.tensor(self.num_ws))

    def set_noise_mode(self, mode: str) -> None:
        """'random' (fresh noise per call), 'const' (the stored noise maps) or 'none'."""
        if mode not in NOISE_MODES:
            raise ConfigError(f"noise_mode: must be one of {list(NOISE_MODES)} (got {mode!r})")
        for m in self.modules():
            if isinstance(m, SynthesisLayer):
                m.noise_mode = mode

    def set_modconv_impl(self, impl: str) -> None:
        """Which form of the modulated convolution every layer uses (see MODCONV_IMPLS)."""
        if impl not in MODCONV_IMPLS:
            raise ConfigError(f"modconv: must be one of {list(MODCONV_IMPLS)} (got {impl!r})")
        for m in self.modules():
            if isinstance(m, (SynthesisLayer, ToRGBLayer)):
                m.impl = impl

    def train(self, mode: bool = True) -> StyleGAN2Generator:
        """Training draws fresh noise; evaluation uses the constant noise maps."""
        super().train(mode)
        self.set_noise_mode("random" if mode else "const")
        return self


class Conv2dLayer(nn.Module):
    """Equalized-lr conv (1×1 or 3×3, optionally 2× down) + bias + activation·gain."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, activation: str = "lrelu",
                 down: bool = False, bias: bool = True, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.in_channels = in_channels
        self.register_buffer("resample_filter", setup_filter())
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel * kernel)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:
        w = self.weight * self.weight_gain
        k = w.shape[-1]
        if self.down and k == 1:
            x = F.conv2d(downsample2d_skip(x, self.resample_filter, self.in_channels), w)
        elif self.down:
            x = conv_down2(x, w, self.resample_filter)
        else:
            x = F.conv2d(x, w, padding=k // 2)
        act_gain = (LRELU_GAIN if self.activation == "lrelu" else 1.0) * gain
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.activation, act_gain, clamp)


class DiscriminatorBlock(nn.Module):
    """Residual block: (fromrgb) → conv0 → conv1 ↓2, plus a 1×1 ↓2 skip, both × √½."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int,
                 img_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        if in_channels == 0:
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, down=True)
        self.skip = Conv2dLayer(tmp_channels, out_channels, 1, activation="linear", down=True,
                                bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.in_channels == 0:
            x = self.fromrgb(x)
        y = self.skip(x, gain=math.sqrt(0.5))
        return y + self.conv1(self.conv0(x), gain=math.sqrt(0.5))


class MinibatchStdLayer(nn.Module):
    """Appends the mean stddev over groups of ``group_size`` samples as extra channels."""

    def __init__(self, group_size: int = 4, num_channels: int = 1) -> None:
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = min(self.group_size, n) if n % min(self.group_size, n) == 0 else 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y - y.mean(0)).square().mean(0)  # (n/g, F, c, H, W) variance over each group
        y = (y + 1e-8).sqrt().mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1)
        return torch.cat([x, y.repeat(g, 1, h, w)], 1)


class StyleGAN2Discriminator(nn.Module):
    """images (B, C, R, R) [+ labels] → logits (B,): residual blocks down to 4×4, minibatch
    stddev, conv, two FC layers; conditional by projection onto a mapped label embedding."""

    def __init__(self, cfg: StyleGAN2Config, cmap_dim: int | None = None) -> None:
        super().__init__()
        self.resolutions = cfg.resolutions[::-1][:-1]  # R, …, 8
        for res in self.resolutions:
            in_ch = cfg.channels(res) if res < cfg.img_resolution else 0
            self.add_module(f"b{res}", DiscriminatorBlock(in_ch, cfg.channels(res),
                                                          cfg.channels(res // 2), cfg.img_channels))
        c4 = cfg.channels(4)
        self.cmap_dim = (cmap_dim or c4) if cfg.c_dim else 0
        if cfg.c_dim:
            self.mapping = MappingNetwork(0, cfg.c_dim, self.cmap_dim, None, cfg.mapping_layers,
                                          lr_multiplier=0.01, w_avg_beta=None)
        self.mbstd = MinibatchStdLayer()
        self.conv = Conv2dLayer(c4 + 1, c4, 3)
        self.fc = FullyConnected(c4 * 16, c4, "lrelu")
        self.out = FullyConnected(c4, self.cmap_dim or 1)

    def forward(self, img: Tensor, labels: Tensor | None = None) -> Tensor:
        x = img
        for res in self.resolutions:
            x = getattr(self, f"b{res}")(x)
        x = self.out(self.fc(self.conv(self.mbstd(x)).flatten(1)))
        if self.cmap_dim:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels (B,) int64")
            cmap = self.mapping(None, labels)
            x = (x * cmap).sum(1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x.flatten()


def stylegan2_generator(cfg: ArchConfig) -> StyleGAN2Generator:
    """The registry's factory: StyleGAN2 sized from the trainer's ArchConfig."""
    return StyleGAN2Generator(StyleGAN2Config.from_arch(cfg))


def stylegan2_discriminator(cfg: ArchConfig) -> StyleGAN2Discriminator:
    """The matching residual discriminator."""
    return StyleGAN2Discriminator(StyleGAN2Config.from_arch(cfg))


register_architecture("stylegan2", stylegan2_generator, stylegan2_discriminator)
