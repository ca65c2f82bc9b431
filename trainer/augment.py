"""DiffAugment (Zhao et al. 2020): differentiable color, translation and cutout, seeded
explicitly."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganedge.errors import ConfigError
from trainer.data import to_device

Tensor = torch.Tensor
POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """"color,cutout" → ("color", "cutout"); unknown names raise ConfigError."""
    names = tuple(p for p in policy.split(",") if p)
    bad = [p for p in names if p not in POLICIES]
    if bad or not names:
        raise ConfigError(f"unknown or empty policy {policy!r}: use names from {list(POLICIES)}",
                          param="diffaugment")
    return names


def diff_augment(x: Tensor, policy: tuple[str, ...], gen: torch.Generator) -> Tensor:
    """Apply each policy to a (B, C, H, W) batch in [-1, 1]; every sample gets its own draw."""
    for name in policy:
        x = {"color": color, "translation": translation, "cutout": cutout}[name](x, gen)
    return x


def _rand(gen: torch.Generator, x: Tensor, *shape: int) -> Tensor:
    return to_device(torch.rand(*shape, generator=gen), x.device).to(x.dtype)


def color(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random brightness, saturation and contrast."""
    b = x.shape[0]
    x = x + (_rand(gen, x, b, 1, 1, 1) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (_rand(gen, x, b, 1, 1, 1) * 2) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(gen, x, b, 1, 1, 1) + 0.5) + mean


def translation(x: Tensor, gen: torch.Generator, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ratio·size pixels, filling with zeros."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    th = to_device(torch.randint(-sh, sh + 1, (b, 1, 1), generator=gen), x.device)
    tw = to_device(torch.randint(-sw, sw + 1, (b, 1, 1), generator=gen), x.device)
    gb, gh, gw = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(h, device=x.device),
                                torch.arange(w, device=x.device), indexing="ij")
    gh = (gh + th + 1).clamp(0, h + 1)
    gw = (gw + tw + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)
    return padded[gb, gh, gw].permute(0, 3, 1, 2)


def cutout(x: Tensor, gen: torch.Generator, ratio: float = 0.5) -> Tensor:
    """Zero one random square of ratio·size per image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oh = to_device(torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=gen), x.device)
    ow = to_device(torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=gen), x.device)
    gb, gh, gw = torch.meshgrid(torch.arange(b, device=x.device), torch.arange(ch, device=x.device),
                                torch.arange(cw, device=x.device), indexing="ij")
    gh = (gh + oh - ch // 2).clamp(0, h - 1)
    gw = (gw + ow - cw // 2).clamp(0, w - 1)
    mask = torch.ones(b, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gh, gw] = 0
    return x * mask[:, None]
