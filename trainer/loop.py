"""The training loop: alternating discriminator and generator Adam steps on one dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from ganedge.files import atomic_path
from ganedge.imaging import make_grid, save_png, to_uint8_nhwc
from trainer.checkpoint import save_checkpoint
from trainer.config import TrainConfig
from trainer.data import load_dataset
from trainer.losses import LOSSES
from trainer.models import build_discriminator, build_generator

SAMPLE_GRID = 64  # fixed latents drawn into each progress grid


@dataclass
class TrainResult:
    """Where a finished run left its files, and its final losses."""

    checkpoint: Path
    step: int
    d_loss: float
    g_loss: float


def train(cfg: TrainConfig, out_dir: str | Path, show_progress: bool = True) -> TrainResult:
    """Train a GAN as ``cfg`` says; writes run.json, samples/*.png and ckpt.pt into ``out_dir``.

    Example:
        >>> from trainer.config import preset
        >>> train(preset("digits-dcgan", steps=10), "runs/demo")   # doctest: +SKIP
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "run.json") as tmp:
        tmp.write_text(json.dumps(cfg.to_dict(), indent=2))
    data = load_dataset(cfg.dataset, cfg.model.image_size, cfg.model.channels)
    rng = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        gen, disc = build_generator(cfg.arch, cfg.model), build_discriminator(cfg.arch, cfg.model)
    loss = LOSSES.get(cfg.loss)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    fixed_z = torch.randn(SAMPLE_GRID, cfg.model.latent_dim, generator=rng)
    d_val = g_val = float("nan")
    with _progress(show_progress) as progress:
        task = progress.add_task("train", total=cfg.steps, losses="")
        for step in range(1, cfg.steps + 1):
            real = data[torch.randint(len(data), (cfg.batch_size,), generator=rng)]
            z = torch.randn(cfg.batch_size, cfg.model.latent_dim, generator=rng)
            fake = gen(z)
            d_loss = loss.d_loss(disc(real), disc(fake.detach()))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            g_loss = loss.g_loss(disc(fake))
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            d_val, g_val = d_loss.item(), g_loss.item()
            progress.update(task, advance=1, losses=f"D {d_val:.3f}  G {g_val:.3f}")
            if cfg.sample_every and (step % cfg.sample_every == 0 or step == cfg.steps):
                _write_samples(gen, fixed_z, out / "samples" / f"step{step:06d}.png")
    ckpt = save_checkpoint(out / "ckpt.pt", cfg.arch, cfg.model, gen, cfg.steps,
                           discriminator=disc.state_dict(), train_config=cfg.to_dict())
    return TrainResult(ckpt, cfg.steps, d_val, g_val)


@torch.no_grad()
def _write_samples(gen: nn.Module, z: torch.Tensor, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gen.eval()
    images = to_uint8_nhwc(gen(z).numpy())
    gen.train()
    save_png(make_grid(images), path)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]step {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
