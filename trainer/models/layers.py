"""Building blocks every architecture shares: conditional input, discriminator head, minibatch
stddev."""

from __future__ import annotations

import torch
from torch import nn

from ganedge.errors import ConfigError
from trainer.config import ArchConfig

MBD_KERNEL_DIM = 5  # C of minibatch discrimination, as in Salimans et al.'s CIFAR-10 model


def input_dim(cfg: ArchConfig) -> int:
    """Width of the generator body's input: z, plus a label embedding of the same size if
    conditional."""
    return cfg.latent_dim * (2 if cfg.num_classes else 1)


class Reshape(nn.Module):
    """(B, prod(shape)) → (B, *shape), with -1 on the batch axis so ONNX keeps it symbolic."""

    def __init__(self, *shape: int) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, *self.shape)


class ToMap(nn.Module):
    """(B, Z) → (B, Z, 1, 1) without reading the batch size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, None, None]


class Generator(nn.Module):
    """(B, latent_dim) [+ labels (B,) int64] → (B, C, S, S) in [-1, 1] via tanh.

    A conditional generator (``num_classes > 0``) appends a learned label embedding to z.
    """

    def __init__(self, cfg: ArchConfig, body: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.num_classes, cfg.latent_dim) if cfg.num_classes else None
        self.body = body

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional generator needs labels (B,) int64")
            z = torch.cat([z, self.embed(labels)], 1)
        return torch.tanh(self.body(z))


class MinibatchStdDev(nn.Module):
    """Appends one channel holding the mean over features of the batch stddev
    (Karras et al. 2018)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # scalar; var+eps then sqrt so a batch of one gives 1e-4, not NaN
        std = (x.var(0, unbiased=False) + 1e-8).sqrt().mean()
        return torch.cat([x, std.expand_as(x[:, :1])], 1)


class MinibatchDiscrimination(nn.Module):
    """Learned-kernel minibatch discrimination (Salimans et al. 2016, "Improved Techniques for
    Training GANs", §3.2): (N, A) features → (N, B) closeness of each sample to the rest of its
    batch, o_b(x_i) = Σ_{j≠i} exp(-‖M_{i,b} - M_{j,b}‖₁) with M = x·T, T learned (A, B, C).

    Unlike minibatch stddev (one fixed statistic), D learns which features to compare, so a
    generator that repeats itself is told apart by many learned similarity measures."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = MBD_KERNEL_DIM) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x @ self.T).view(-1, self.kernels, self.kernel_dim)  # (N, B, C)
        l1 = (m[:, None] - m[None]).abs().sum(3)  # (N, N, B)
        return torch.exp(-l1).sum(1) - 1  # the j = i term is exp(0) = 1


def pack_channels(x: torch.Tensor, pack: int) -> torch.Tensor:
    """PacGAN (Lin et al. 2018): (B, C, S, S) → (B/pack, pack·C, S, S), samples i·pack … i·pack +
    pack - 1 side by side on the channel axis, so D judges them jointly."""
    return x if pack == 1 else x.reshape(-1, pack * x.shape[1], *x.shape[2:])


def disc_channels(cfg: ArchConfig) -> int:
    """Input channels of the discriminator's first layer: the image's, times the PacGAN pack."""
    return cfg.channels * cfg.pack


class Discriminator(nn.Module):
    """(B, C, S, S) [+ labels] → (B / pack,) logits: packing, body features, optional minibatch
    stddev and minibatch discrimination, linear head, and for conditional models a projection
    term (Miyato & Koyama 2018)."""

    def __init__(self, cfg: ArchConfig, body: nn.Module, features: int, spatial: int) -> None:
        super().__init__()
        if cfg.pack > 1 and cfg.num_classes:
            raise ConfigError("a packed discriminator judges several samples at once and cannot "
                              "take one label each: use pack 1 for conditional models",
                              param="pack")
        self.pack = cfg.pack
        # (B, C, S, S) → (B, features, *spatial dims) with prod(spatial dims) = spatial
        self.body = body
        self.mbstd = MinibatchStdDev() if cfg.minibatch_stddev else nn.Identity()
        width = (features + int(cfg.minibatch_stddev)) * spatial
        self.mbdisc = (MinibatchDiscrimination(width, cfg.minibatch_kernels)
                       if cfg.minibatch_kernels else None)
        width += cfg.minibatch_kernels
        self.head = nn.Linear(width, 1)
        self.project = nn.Embedding(cfg.num_classes, width) if cfg.num_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B / pack, F) activations of the body's last layer, the layer feature matching uses."""
        return self.body(pack_channels(x, self.pack)).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.mbstd(self.body(pack_channels(x, self.pack))).flatten(1)
        if self.mbdisc is not None:
            h = torch.cat([h, self.mbdisc(h)], 1)
        out = self.head(h).flatten()
        if self.project is not None:
            if labels is None:
                raise ValueError("a conditional discriminator needs labels (B,) int64")
            out = out + (self.project(labels) * h).sum(1)
        return out


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN's initialisation: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def widths(cfg: ArchConfig) -> list[int]:
    """Generator feature widths from the 4×4 stem to the last hidden layer, e.g. [128, 64, 32]."""
    n_up = cfg.image_size.bit_length() - 3
    return [cfg.base_channels * 2 ** (n_up - 1 - i) for i in range(n_up)]
