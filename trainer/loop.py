"""The training loop: n_critic discriminator steps per generator step, EMA, mixed precision
(fp16 with a loss scaler per network, or bf16), DDP, health logging with NaN rollback,
checkpoints that resume exactly, and callbacks.

All per-step randomness (batch order, latents, augmentation) is derived from (seed, rank, step),
so a resumed run needs only the checkpoint to continue bit for bit.

No step waits for the device: losses, gradient norms and skipped-step flags stay on it, summed
there, and are read at sync points (each health record, sample grid and checkpoint, and every
``log_every`` or CHECK_EVERY steps). A read that finds a non-finite loss, or a run of skipped
steps too long to be the loss scale settling, rolls back to the snapshot taken at the last sync
point whose weights were finite.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganedge.errors import ConfigError, one_line
from ganedge.io.files import atomic_path, check_folder, make_folder
from ganedge.io.imaging import make_grid, save_png, to_uint8_nhwc
from trainer import distributed, health
from trainer.callbacks import Callback
from trainer.checkpoint import load_resumable, publish, save_checkpoint
from trainer.checkpoint_schema import bad, check_model_budget
from trainer.config import ArchConfig, TrainConfig
from trainer.data import batch_indices, load_dataset, to_device
from trainer.ema import make_ema, recalibrate_batchnorm, update_ema
from trainer.loggers import build_logger
from trainer.losses import LOSSES
from trainer.models import build_discriminator, build_generator
from trainer.regularizers import build_regularizers

SAMPLE_GRID = 64  # fixed latents drawn into each progress grid
DIVERSITY_BATCH = 32  # fixed latents whose pairwise distance measures diversity
CALIBRATION_BATCHES = 32  # batches re-estimating the EMA generator's BatchNorm statistics
CALIBRATION_SEED_OFFSET = 7919  # their latents' seed: the run's seed plus this
CHECK_EVERY = 50  # steps between device reads (and rollback snapshots) when log_every is 0
# fp16: a step whose gradients overflow is skipped and the loss scale halved, so a few skips in a
# row are the scale settling (the first steps from 2^16 skip until it fits). 50 in a row take it
# from 2^16 to 2^-34, below any fp16 gradient: the network makes inf/NaN whatever the scale.
MAX_CONSECUTIVE_SKIPS = 50
LOSS_KEYS = ("d_loss", "g_loss")  # a non-finite one of these is divergence
AUTOCAST_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}
Tensor = torch.Tensor


NETWORKS = {"d": "discriminator", "g": "generator"}


@dataclass(frozen=True)
class Problem:
    """What diverged (kind: loss, weights or skipped), in words, and at which step."""

    kind: str
    what: str
    step: int


@dataclass
class TrainResult:
    """Where a finished run left its files, and its final health figures."""

    checkpoint: Path
    step: int
    d_loss: float
    g_loss: float
    health: dict[str, float]


def train(cfg: TrainConfig, out_dir: str | Path, callbacks: tuple[Callback, ...] = (),
          resume: str | Path | None = None) -> TrainResult:
    """Train a GAN as ``cfg`` says into ``out_dir`` (run.json, health.jsonl, samples/, curves.png,
    last.pt = ckpt.pt, best.pt); ``resume`` continues from a checkpoint exactly.

    Example:
        >>> from trainer.config import preset
        >>> train(preset("digits-dcgan", steps=10), "runs/demo")   # doctest: +SKIP
    """
    check_folder(out_dir, param="out_dir")
    state = load_resumable(resume) if resume is not None else None
    trainer = Trainer(cfg, out_dir, callbacks)
    try:
        if state is not None:
            trainer.resume_from(state, resume)
        return trainer.fit()
    finally:
        distributed.teardown(trainer.env)


class Trainer:
    """Holds the models, optimizers and counters of one run; see :func:`train`."""

    def __init__(self, cfg: TrainConfig, out_dir: str | Path,
                 callbacks: tuple[Callback, ...] = ()) -> None:
        self.cfg, self.out = cfg, Path(out_dir)
        self.env = distributed.setup(cfg.device)
        self.is_main = self.env.rank == 0
        # loggers write files, so only rank 0 has one; they see every ordinary hook too, starting
        # first and ending last, so they record what the other callbacks report at either end
        self.loggers = [build_logger(cfg.logger)] if self.is_main else []
        self.callbacks: list[Callback] = [*self.loggers, *callbacks]
        self.data = load_dataset(cfg.dataset, cfg.model.image_size)
        self.loss = LOSSES.get(cfg.loss)
        self.regs = build_regularizers(cfg, self.loss)
        self.arch_config = self._arch_config()
        self._build_models()
        for reg in self.regs:
            reg.bind(self.gen, self.disc)
        self.precision = resolve_precision(cfg.precision, self.env.device)
        # fp16 only: one loss scaler per network, so D's overflows never skip G's step
        fp16 = self.precision == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.env.device.type, enabled=fp16)
        self.scaler_d = torch.amp.GradScaler(self.env.device.type, enabled=fp16)
        self.step, self.rollbacks, self.lr_scale = 0, 0, 1.0
        self.skipped = {"d": 0, "g": 0}  # optimizer steps the loss scaler skipped, per network
        self.last_figures: dict[str, float] = {}  # the latest interval's means, read at a sync
        self.metrics: dict[str, float] = {}
        self.best: float | None = None
        self.fixed_z, self.fixed_labels = self._fixed_latents()
        self.data_diversity = health.diversity(self.data.images[:DIVERSITY_BATCH])
        self._interval = health.Interval(self.env.device, LOSS_KEYS)
        self._skips = {net: health.SkipRun(self.env.device) for net in ("d", "g")}
        self.peak_diversity = 0.0
        self._good: dict[str, Any] = {}
        self._ema_calibrated = -1  # step whose EMA BatchNorm statistics are its own

    def _arch_config(self) -> ArchConfig:
        classes = 0
        if self.cfg.conditional:
            if self.data.labels is None:
                raise ConfigError(f"dataset {self.cfg.dataset!r} has no labels: "
                                  "drop `conditional` or use labelled data", param="conditional")
            classes = self.data.num_classes
        arch = replace(self.cfg.model, channels=self.data.images.shape[1], num_classes=classes,
                       pack=self.cfg.pack)
        for reg in self.regs:
            arch = reg.arch(arch)
        return arch

    def _build_models(self) -> None:
        cfg, dev = self.cfg, self.env.device
        check_model_budget(cfg.arch, self.arch_config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            self.gen = build_generator(cfg.arch, self.arch_config).to(dev)
            disc = build_discriminator(cfg.arch, self.arch_config)
            if getattr(disc, "pack", 1) != self.arch_config.pack:
                raise ConfigError(f"the {cfg.arch} discriminator does not pack samples: use "
                                  "pack 1 or an architecture built on "
                                  "trainer.models.layers.Discriminator", param="pack")
            for reg in self.regs:
                disc = reg.discriminator(disc)
            self.disc = disc.to(dev)
        self.ema = make_ema(self.gen) if cfg.ema else None
        # fused Adam on CUDA: one kernel, and it takes the loss scaler's inf check on the device
        # where the plain one reads it on the host every step
        fused = dev.type == "cuda" or None
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.lr_g,
                                      betas=(cfg.beta1, cfg.beta2), fused=fused)
        self.opt_d = torch.optim.Adam(self.disc.parameters(), lr=cfg.lr_d,
                                      betas=(cfg.beta1, cfg.beta2), fused=fused)
        self.g, self.d = distributed.wrap(self.gen, self.env), distributed.wrap(self.disc, self.env)

    def _fixed_latents(self) -> tuple[Tensor, Tensor | None]:
        rng = torch.Generator().manual_seed(self.cfg.seed)
        classes = self.arch_config.num_classes
        n = classes * 8 if classes else SAMPLE_GRID
        z = to_device(torch.randn(n, self.arch_config.latent_dim, generator=rng), self.env.device)
        labels = torch.arange(n, device=self.env.device) % classes if classes else None
        return z, labels

    # ---------------------------------------------------------------- the step
    def _step_gen(self, step: int) -> torch.Generator:
        seed = np.random.SeedSequence([self.cfg.seed, self.env.rank, step]).generate_state(1)[0]
        return torch.Generator().manual_seed(int(seed))

    def _batch(self, batch: int) -> tuple[Tensor, Tensor | None]:
        idx = batch_indices(len(self.data.images), self.cfg.batch_size, batch, self.cfg.seed,
                            self.env.rank, self.env.world)
        real = to_device(self.data.images[idx], self.env.device)
        labels = (to_device(self.data.labels[idx], self.env.device)
                  if self.arch_config.num_classes else None)
        return real, labels

    def _critic(self, x: Tensor, labels: Tensor | None) -> Tensor:
        return (self.d(x, labels) if labels is not None else self.d(x)).float()

    def _features(self, x: Tensor) -> Tensor:
        # only feature_matching calls this, and it checked at bind time that D has features()
        return self.disc.features(x)

    def _augment(self, x: Tensor, gen: torch.Generator) -> Tensor:
        for reg in self.regs:
            x = reg.augment(x, gen)
        return x

    def _autocast(self) -> torch.autocast:
        dtype = AUTOCAST_DTYPES.get(self.precision)
        return torch.autocast(self.env.device.type, dtype=dtype or torch.bfloat16,
                              enabled=dtype is not None)

    def train_step(self, step: int) -> dict[str, Tensor]:
        """One generator update (after n_critic discriminator updates); returns its logs as
        0-dim tensors on the training device (reading one waits for the device)."""
        cfg, gen = self.cfg, self._step_gen(step)
        z_shape = (cfg.batch_size, self.arch_config.latent_dim)
        for i in range(cfg.n_critic):
            real, labels = self._batch((step - 1) * cfg.n_critic + i)
            z = to_device(torch.randn(*z_shape, generator=gen), self.env.device)
            last = i == cfg.n_critic - 1
            with torch.set_grad_enabled(last), self._autocast():
                fake = self._generate(z, labels, gen)
            logs = self._d_step(real, fake, labels, (step - 1) * cfg.n_critic + i, gen)
        return {**logs, **self._g_step(real, fake, labels, gen)}

    def _generate(self, z: Tensor, labels: Tensor | None, gen: torch.Generator) -> Tensor:
        """G(z) for training; a generator offering ``mixing_inputs`` (StyleGAN2) also gets its
        style-mixing draw, taken from the step's generator so a resume repeats it."""
        extra: dict[str, Any] = {}
        mixing = getattr(self.gen, "mixing_inputs", None)
        if mixing is not None:
            z2, cutoff = mixing(z.shape[0], gen)
            extra["mix"] = (to_device(z2, self.env.device), to_device(cutoff, self.env.device))
        return self.g(z, labels, **extra) if labels is not None or extra else self.g(z)

    def _d_step(self, real: Tensor, fake: Tensor, labels: Tensor | None, d_step: int,
                gen: torch.Generator) -> dict[str, Tensor]:
        real_aug, fake_aug = self._augment(real, gen), self._augment(fake.detach(), gen)
        real_label = min((r.real_label() for r in self.regs), default=1.0)
        with self._autocast():
            r, f = self._critic(real_aug, labels), self._critic(fake_aug, labels)
            loss = self.loss.d_loss(r, f, real_label)
        total = loss
        for reg in self.regs:
            term = reg.penalty(lambda x: self._critic(x, labels), real_aug, fake_aug, d_step, gen)
            total = total + term if term is not None else total
        norm = self._optimize("d", total)
        for reg in self.regs:
            reg.after_d_step(self.disc)
        return {"d_loss": loss.detach(), "d_real": r.detach().mean(), "d_fake": f.detach().mean(),
                "grad_norm_d": norm}

    def _g_step(self, real: Tensor, fake: Tensor, labels: Tensor | None,
                gen: torch.Generator) -> dict[str, Tensor]:
        needs_real = self.loss.uses_real_in_g or any(reg.needs_real_in_g for reg in self.regs)
        with self._autocast():
            fake_aug = self._augment(fake, gen)
            f = self._critic(fake_aug, labels)
            real_aug = self._augment(real, gen) if needs_real else real
            r = self._critic(real_aug, labels) if self.loss.uses_real_in_g else f.new_zeros(0)
            loss = self.loss.g_loss(f, r)
            # D's features of the half-precision images, under the same autocast as D's logits
            features = [reg.feature_penalty(self._features, real_aug, fake_aug)
                        for reg in self.regs]
        total = loss
        for reg, feature_term in zip(self.regs, features):
            for term in (reg.g_penalty(self.gen, labels, self.step + 1, gen), feature_term):
                total = total + term if term is not None else total
        norm = self._optimize("g", total)
        for reg in self.regs:
            reg.after_g_step(self.gen)
        distributed.sync_buffers(self.env, self.gen, self.disc)
        if self.ema is not None:
            update_ema(self.ema, self.gen, self.cfg.ema)
        return {"g_loss": loss.detach(), "grad_norm_g": norm}

    def _optimize(self, net: str, loss: Tensor) -> Tensor:
        """Zero, backward, unscale, measure the gradient norm, step; returns the norm (on the
        device). Under fp16 the scaler skips a step whose gradients overflowed: counted here."""
        opt, scaler, module = ((self.opt_d, self.scaler_d, self.disc) if net == "d"
                               else (self.opt_g, self.scaler_g, self.gen))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        norm = (torch.nn.utils.get_total_norm(grads) if grads
                else torch.zeros((), device=self.env.device))
        scaler.step(opt)
        scaler.update()
        if scaler.is_enabled():
            # unscale_ found inf/NaN in exactly these gradients: the step was skipped
            self._skips[net].add(~torch.isfinite(norm))
        return norm

    # ---------------------------------------------------------------- the run
    def fit(self) -> TrainResult:
        """Train from ``self.step`` to ``cfg.steps``; returns where the checkpoint went."""
        self._start()
        logs: dict[str, Tensor] = {}
        while self.step < self.cfg.steps:
            logs = self.train_step(self.step + 1)
            self.step += 1
            self._interval.add(self.step, logs)
            sync = self._sync_due()
            if sync and self._diverged(self._read()):
                continue
            self._after_step(logs, sync)
        return self._finish(logs)

    def _sync_due(self) -> bool:
        """Whether this step reads the device: at each health record, sample grid and
        checkpoint (none is written from a diverged state), the last step, and at least every
        ``log_every`` (else CHECK_EVERY) steps."""
        cfg, step = self.cfg, self.step
        return (step == cfg.steps or step % (cfg.log_every or CHECK_EVERY) == 0
                or any(every and step % every == 0
                       for every in (cfg.sample_every, cfg.checkpoint_every)))

    def _read(self) -> Problem | None:
        """Wait for the device once and bring the interval's figures and the skip counters to
        the host; returns what diverged, or None."""
        values = torch.cat([self._interval.packed(),
                            *(run.packed() for run in self._skips.values())]).tolist()
        self.last_figures, first_bad = self._interval.unpack(values[:-4])
        longest = {}
        for i, net in enumerate(self._skips):
            new, longest[net] = values[-4 + 2 * i:-2 + 2 * i or None]
            self.skipped[net] += int(new)
        if first_bad:
            return Problem("loss", "losses became NaN/Inf", first_bad)
        for net, run in longest.items():
            if run >= MAX_CONSECUTIVE_SKIPS:
                return Problem("skipped", f"the fp16 loss scaler skipped {int(run)} "
                               f"{NETWORKS[net]} steps in a row (inf/NaN gradients at every "
                               "scale)", self.step)
        return None

    def skipped_steps(self) -> dict[str, int]:
        """Optimizer steps the fp16 loss scaler has skipped so far, per network ("d", "g"),
        including those since the last sync point (so this waits for the device)."""
        return {net: self.skipped[net] + int(run.new) for net, run in self._skips.items()}

    def _weights_problem(self) -> Problem | None:
        """A problem when any weight is not finite (checked before a snapshot is kept)."""
        params = [*self.gen.parameters(), *self.disc.parameters()]
        if bool(torch.stack([torch.isfinite(p).all() for p in params]).all()):
            return None
        return Problem("weights", "the weights became NaN/Inf", self.step + 1)

    def _diverged(self, problem: Problem | None) -> bool:
        """Roll back (on every process) when any process found a problem."""
        if not distributed.any_true(problem is not None, self.env):
            return False
        self._rollback(problem or Problem("loss", "another process diverged", self.step))
        return True

    def _start(self) -> None:
        if self.is_main:
            make_folder(self.out)
            with atomic_path(self.out / "run.json") as tmp:
                tmp.write_text(json.dumps(self.cfg.to_dict(), indent=2))
            health.truncate_jsonl(self.out / "health.jsonl", self.step)
        self._good = self._snapshot()
        self._skipped_at_record = dict(self.skipped)
        for cb in self.callbacks:
            cb.on_train_start(self)

    def _after_step(self, logs: dict[str, Tensor], sync: bool) -> None:
        cfg, step = self.cfg, self.step
        final = step == cfg.steps
        # the last step records the figures of a part interval too (a short run gets one)
        if cfg.log_every and (step % cfg.log_every == 0 or (final and self._interval.steps)):
            self._log_health()
        for cb in self.callbacks:
            cb.on_step_end(self, step, logs)
        if not sync or self._diverged(self._weights_problem()):
            return
        if final or (cfg.sample_every and step % cfg.sample_every == 0):
            self.write_samples(self.out / "samples" / f"step{step:06d}.png")
        if final or (cfg.checkpoint_every and step % cfg.checkpoint_every == 0):
            self._checkpoint()
        else:
            self._good = self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        """A copy of the state to roll back to (the EMA generator as it is: training never reads
        its BatchNorm statistics, so they are not re-estimated for this)."""
        return copy.deepcopy(self.state_dict(calibrated=False))

    def _finish(self, logs: dict[str, Tensor]) -> TrainResult:
        records = health.read_jsonl(self.out / "health.jsonl") if self.is_main else []
        if self.is_main and records:
            health.plot_curves(records, self.out / "curves.png")
        for cb in [*(cb for cb in self.callbacks if cb not in self.loggers), *self.loggers]:
            cb.on_train_end(self)
        figures = [r for r in records if "event" not in r]
        last = ({k: float(v) for k, v in figures[-1].items() if isinstance(v, (int, float))}
                if figures else {})
        nan = torch.tensor(float("nan"))
        return TrainResult(self.out / "ckpt.pt", self.step, float(logs.get("d_loss", nan)),
                           float(logs.get("g_loss", nan)), last)

    def report(self, name: str, value: float) -> None:
        """Record a metric (e.g. FID from an evaluation callback); ``best_metric`` reads these."""
        self.metrics[name] = float(value)
        for logger in self.loggers:
            logger.on_metric(self, self.step, name, float(value))

    def sample_generator(self) -> torch.nn.Module:
        """The generator samples come from: the EMA one when enabled, with BatchNorm statistics
        re-estimated for its averaged weights (once per step; training never reads them, since
        every update copies the raw generator's, so an exact resume is unaffected)."""
        if self.ema is None:
            return self.gen
        if self._ema_calibrated != self.step:
            recalibrate_batchnorm(self.ema, self._calibration_batches())
            self._ema_calibrated = self.step
        return self.ema

    def _calibration_batches(self) -> Iterator[tuple[Tensor, ...]]:
        """Fixed latents (and uniform labels) for :func:`recalibrate_batchnorm`, from their own
        seeded generator so the training RNG streams are untouched."""
        rng = torch.Generator().manual_seed(self.cfg.seed + CALIBRATION_SEED_OFFSET)
        classes, dev = self.arch_config.num_classes, self.env.device
        for _ in range(CALIBRATION_BATCHES):
            z = torch.randn(self.cfg.batch_size, self.arch_config.latent_dim, generator=rng)
            if classes:
                labels = torch.randint(classes, (self.cfg.batch_size,), generator=rng)
                yield z.to(dev), labels.to(dev)
            else:
                yield (z.to(dev),)

    @torch.no_grad()
    def fixed_samples(self, n: int | None = None) -> Tensor:
        """Images (n, C, S, S) of the fixed latents, from the sampling generator in eval mode."""
        g = self.sample_generator()
        mode = g.training
        g.eval()
        z, labels = self.fixed_z[:n], None if self.fixed_labels is None else self.fixed_labels[:n]
        images = g(z, labels) if labels is not None else g(z)
        g.train(mode)
        return images.float().cpu()

    def write_samples(self, path: Path) -> None:
        """A PNG grid of the fixed latents (one column per class when conditional)."""
        images = self.fixed_samples()
        if self.is_main:
            make_folder(path.parent)
            grid = make_grid(to_uint8_nhwc(images.numpy()),
                             cols=self.arch_config.num_classes or None)
            save_png(grid, path)
            for logger in self.loggers:
                logger.on_samples(self, self.step, grid)

    def _log_health(self) -> None:
        self._interval.reset()
        skipped = {f"skipped_{net}": n - self._skipped_at_record[net]
                   for net, n in self.skipped.items()}
        self._skipped_at_record = dict(self.skipped)
        if self.precision == "fp16":
            skipped.update(loss_scale_d=self.scaler_d.get_scale(),
                           loss_scale_g=self.scaler_g.get_scale())
        div = health.diversity(self.fixed_samples(DIVERSITY_BATCH))
        self.report("diversity", div)
        record = {"step": self.step, **self.last_figures, **skipped, "diversity": div,
                  "data_diversity": self.data_diversity,
                  "lr_g": self.opt_g.param_groups[0]["lr"],
                  "lr_d": self.opt_d.param_groups[0]["lr"]}
        # a fresh generator is never diverse: collapse means falling far below both the data's
        # diversity and the run's own peak, so early wobbles are not reported
        self.peak_diversity = max(self.peak_diversity, div)
        ratio = self.cfg.collapse_ratio
        if div < ratio * self.data_diversity and div < ratio * self.peak_diversity:
            record["warning"] = (f"mode collapse suspected: sample diversity {div:.3f} is below "
                                 f"{self.cfg.collapse_ratio} × the data's "
                                 f"{self.data_diversity:.3f}")
            warnings.warn(record["warning"], health.CollapseWarning, stacklevel=2)
        if self.is_main:
            health.append_jsonl(self.out / "health.jsonl", record)
            for logger in self.loggers:
                logger.on_health(self, self.step, record)

    # ---------------------------------------------------------------- checkpoints
    def _checkpoint(self) -> None:
        # decided before the state is taken, so last.pt (and a resume from it) knows this best
        improved = self.is_main and self._improved()
        state = self.state_dict()
        self._good = copy.deepcopy(state)
        if not self.is_main:
            return
        last = self.out / "last.pt"
        save_checkpoint(last, self.cfg.arch, self.arch_config, self.gen, self.step,
                        **{k: v for k, v in state.items()
                           if k not in ("arch", "arch_config", "generator", "step")})
        publish(last, self.out / "ckpt.pt")
        if improved:
            publish(last, self.out / "best.pt")
        for cb in self.callbacks:
            cb.on_checkpoint(self, self.step, last)

    def _improved(self) -> bool:
        value = self.metrics.get(self.cfg.best_metric) if self.cfg.best_metric else None
        if value is None:
            return False
        better = self.best is None or (value < self.best if self.cfg.best_mode == "min"
                                       else value > self.best)
        if better:
            self.best = value
        return better

    def state_dict(self, *, calibrated: bool = True) -> dict[str, Any]:
        """Everything needed to continue exactly: models, optimizers, scalers, counters, RNG;
        the EMA generator with its BatchNorm statistics re-estimated unless not ``calibrated``."""
        state: dict[str, Any] = {
            "arch": self.cfg.arch, "arch_config": asdict(self.arch_config),
            "generator": self.gen.state_dict(), "discriminator": self.disc.state_dict(),
            "optimizer_g": self.opt_g.state_dict(), "optimizer_d": self.opt_d.state_dict(),
            "scaler": {"g": self.scaler_g.state_dict(), "d": self.scaler_d.state_dict()},
            "precision": self.precision,
            "step": self.step, "rng": {"torch": torch.get_rng_state()},
            "train_config": self.cfg.to_dict(), "metrics": dict(self.metrics),
            "best": self.best, "health": {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale,
                                          "peak_diversity": self.peak_diversity,
                                          "skipped": dict(self.skipped)},
            "callbacks": {key: cb.state_dict() for key, cb in _callback_keys(self.callbacks)},
            "regularizers": {name: reg.state_dict()
                             for name, reg in zip(self.cfg.regularizers, self.regs)},
        }
        if self.ema is not None:
            ema = self.sample_generator() if calibrated else self.ema
            state["generator_ema"] = ema.state_dict()
        return state

    def resume_from(self, state: dict[str, Any], path: str | Path) -> None:
        """Restore a checkpoint checked by :func:`trainer.checkpoint.load_resumable`; state that
        does not fit this run's models or optimizers is one CheckpointError naming the file."""
        if state["arch"] != self.cfg.arch or state["arch_config"] != asdict(self.arch_config):
            raise ConfigError(f"checkpoint is {state['arch']} {state['arch_config']}, the run is "
                              "configured differently: resume with the checkpoint's config",
                              param="resume")
        try:
            self.load_state_dict(state)
        except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
            raise bad(path, f"its training state does not fit this run ({one_line(exc, 120)})",
                      "resume from a last.pt written by `ganedge train`") from None

    def load_state_dict(self, state: dict[str, Any], restore_health: bool = True) -> None:
        """Restore :meth:`state_dict` output (from a checkpoint or an in-memory snapshot)."""
        self.gen.load_state_dict(state["generator"])
        self.disc.load_state_dict(state["discriminator"])
        if self.ema is not None:
            self.ema.load_state_dict(state.get("generator_ema", state["generator"]))
        self.opt_g.load_state_dict(state["optimizer_g"])
        self.opt_d.load_state_dict(state["optimizer_d"])
        for scaler, saved in ((self.scaler_g, state["scaler"]["g"]),
                              (self.scaler_d, state["scaler"]["d"])):
            # an fp32/bf16 run saved no scale: an fp16 resume of it starts a fresh scaler
            if saved:
                scaler.load_state_dict(saved)
        self._ema_calibrated = -1
        self.step, self.metrics, self.best = state["step"], dict(state["metrics"]), state["best"]
        self.peak_diversity = state["health"]["peak_diversity"]
        torch.set_rng_state(state["rng"]["torch"])
        if restore_health:
            self.rollbacks = state["health"]["rollbacks"]
            self.lr_scale = state["health"]["lr_scale"]
            self.skipped = {net: int(state["health"].get("skipped", {}).get(net, 0))
                            for net in self.skipped}
        for key, cb in _callback_keys(self.callbacks):
            cb.load_state_dict(state["callbacks"].get(key, {}))
        for name, reg in zip(self.cfg.regularizers, self.regs):
            reg.load_state_dict(state.get("regularizers", {}).get(name, {}))

    def _rollback(self, problem: Problem) -> None:
        """Divergence: back to the last good state with lower learning rates, a bounded number
        of times."""
        self.rollbacks += 1
        if self.rollbacks > self.cfg.max_rollbacks:
            figures = {k: float(f"{v:.4g}") for k, v in self.last_figures.items()}
            raise health.DivergenceError(
                f"training: {problem.what} at step {problem.step} after "
                f"{self.cfg.max_rollbacks} rollback(s) ({figures}): lower `lr_g`/`lr_d` or add a "
                "regularizer (`regularizers` spectral_norm)"
                + (", or train in bf16 or fp32 (`precision`)" if problem.kind == "skipped" else ""))
        self.load_state_dict(copy.deepcopy(self._good), restore_health=False)
        self.lr_scale *= self.cfg.rollback_lr_factor
        for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * self.lr_scale
        self._interval.reset()
        for run in self._skips.values():
            run.reset()
        self._skipped_at_record = dict(self.skipped)
        if self.is_main:
            health.append_jsonl(self.out / "health.jsonl", {
                "step": self.step, "event": "rollback", "reason": problem.kind,
                "failed_at": problem.step, "rollbacks": self.rollbacks,
                "lr_scale": self.lr_scale})


def resolve_precision(precision: str, device: torch.device) -> str:
    """``precision`` with "auto" decided for ``device``: bf16 on a CUDA device that supports it
    (no loss scaling needed), fp16 on an older one, fp32 on the CPU (autocast there is slower)."""
    if precision != "auto":
        return precision
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def _callback_keys(callbacks: list[Callback]) -> list[tuple[str, Callback]]:
    """("EvalCallback#0", cb), …: saved state follows its callback's kind, not its position, so a
    resume that adds or drops a callback hands no state to the wrong one."""
    seen: dict[str, int] = {}
    keys = []
    for cb in callbacks:
        name = type(cb).__name__
        keys.append((f"{name}#{seen.get(name, 0)}", cb))
        seen[name] = seen.get(name, 0) + 1
    return keys
