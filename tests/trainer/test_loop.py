"""The training loop through its public API: exact resume, NaN rollback, health log, callbacks."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from trainer import TrainConfig, generator_from_checkpoint, load_checkpoint, train
from trainer.callbacks import Callback
from trainer.config import ArchConfig
from trainer.health import CollapseWarning, DivergenceError
from trainer.loop import Trainer

TINY = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                   steps=6, log_every=2, sample_every=0, checkpoint_every=3, ema=0.9)


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path: Path) -> None:
    cfg = replace(TINY, regularizers=("spectral_norm", "diffaugment", "r1"), r1_every=2, n_critic=2)
    train(cfg, tmp_path / "full")
    train(replace(cfg, steps=3), tmp_path / "half")
    train(cfg, tmp_path / "half", resume=tmp_path / "half" / "last.pt")
    full, resumed = (load_checkpoint(tmp_path / d / "ckpt.pt") for d in ("full", "half"))
    assert resumed["step"] == full["step"] == 6
    for key in ("generator", "generator_ema", "discriminator"):
        for name, tensor in full[key].items():
            assert torch.equal(tensor, resumed[key][name]), f"{key}.{name} differs"
    # the first run's last step (3) recorded its part interval; the resumed run kept it, no step
    # twice
    logged = [json.loads(line)["step"] for line in (tmp_path / "half" / "health.jsonl").open()]
    assert logged == [2, 3, 4, 6]


def test_checkpoint_contents(tmp_path: Path) -> None:
    train(TINY, tmp_path)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["format_version"] == 2 and ckpt["step"] == 6
    assert {"generator_ema", "discriminator", "optimizer_g", "optimizer_d", "scaler", "rng",
            "train_config", "metrics"} <= set(ckpt)
    assert (tmp_path / "last.pt").read_bytes() == (tmp_path / "ckpt.pt").read_bytes()
    assert (tmp_path / "curves.png").is_file()
    assert (tmp_path / "samples" / "step000006.png").is_file()


@pytest.mark.slow
def test_ema_batchnorm_statistics_are_its_own(tmp_path: Path) -> None:
    """The EMA generator's BatchNorm statistics are re-estimated for its averaged weights: in
    eval mode it draws what it draws in train mode on a large batch, which the raw generator's
    statistics (copied at every update) do not give it."""
    train(TINY, tmp_path)
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    ema = generator_from_checkpoint(ckpt, "ema")
    copied = generator_from_checkpoint(ckpt, "ema")
    copied.load_state_dict({**ckpt["generator_ema"],
                            **{k: v for k, v in ckpt["generator"].items() if "running" in k}})
    z = torch.randn(2048, TINY.model.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        batch_stats = ema.train()(z)
        err_own, err_copied = ((m.eval()(z) - batch_stats).abs().mean().item()
                               for m in (ema, copied))
    assert err_own < 0.1 * err_copied, (err_own, err_copied)


@pytest.mark.slow
def test_health_log_records(tmp_path: Path) -> None:
    result = train(TINY, tmp_path)
    records = [json.loads(line) for line in (tmp_path / "health.jsonl").open()]
    assert [r["step"] for r in records] == [2, 4, 6]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "diversity",
            "data_diversity", "lr_g", "lr_d"} <= set(records[-1])
    assert result.health["diversity"] == records[-1]["diversity"] > 0


class PoisonAt(Callback):
    """Writes NaN into the generator after the given steps (once each)."""

    def __init__(self, *steps: int) -> None:
        self.steps = set(steps)

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step in self.steps:
            self.steps.discard(step)
            with torch.no_grad():
                next(trainer.gen.parameters()).fill_(float("nan"))


@pytest.mark.slow
def test_nan_rolls_back_with_lower_lr(tmp_path: Path) -> None:
    result = train(TINY, tmp_path, callbacks=(PoisonAt(4),))
    assert result.step == 6
    events = [json.loads(line) for line in (tmp_path / "health.jsonl").open()]
    rollback = [e for e in events if e.get("event") == "rollback"]
    # the weights went NaN after step 4: the check before keeping step 4 as the snapshot finds it
    # and goes back to the checkpoint at step 3
    assert rollback == [{"event": "rollback", "failed_at": 5, "lr_scale": 0.5, "rollbacks": 1,
                         "reason": "weights", "step": 3}]
    ckpt = load_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["optimizer_g"]["param_groups"][0]["lr"] == pytest.approx(TINY.lr_g * 0.5)
    assert all(torch.isfinite(t).all() for t in ckpt["generator"].values())


class AlwaysPoison(Callback):
    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        with torch.no_grad():
            next(trainer.gen.parameters()).fill_(float("nan"))


def test_repeated_nan_stops_with_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DivergenceError, match="after 2 rollback"):
        train(replace(TINY, max_rollbacks=2), tmp_path,
              callbacks=(AlwaysPoison(),))


class ReportStep(Callback):
    """Reports a metric that is best at step 3, and counts hook calls (kept across resume)."""

    def __init__(self) -> None:
        self.calls = {"start": 0, "step": 0, "checkpoint": 0, "end": 0}

    def on_train_start(self, trainer: Trainer) -> None:
        self.calls["start"] += 1

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        self.calls["step"] += 1
        trainer.report("score", abs(step - 3))

    def on_checkpoint(self, trainer: Trainer, step: int, path: Path) -> None:
        self.calls["checkpoint"] += 1

    def on_train_end(self, trainer: Trainer) -> None:
        self.calls["end"] += 1

    def state_dict(self) -> dict[str, object]:
        return {"calls": dict(self.calls)}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.calls = dict(state["calls"])  # type: ignore[arg-type]


def test_callbacks_metrics_choose_best(tmp_path: Path) -> None:
    callback = ReportStep()
    train(replace(TINY, best_metric="score", best_mode="min"), tmp_path,
          callbacks=(callback,))
    assert callback.calls == {"start": 1, "step": 6, "checkpoint": 2, "end": 1}
    best, last = load_checkpoint(tmp_path / "best.pt"), load_checkpoint(tmp_path / "last.pt")
    # best.pt knows it is the best: a resume from it compares against its own figure
    assert (best["step"], best["metrics"]["score"], best["best"]) == (3, 0.0, 0.0)
    assert (last["step"], last["best"],
            last["callbacks"]["ReportStep#0"]["calls"]["step"]) == (6, 0.0, 6)


def test_callback_state_follows_its_kind_on_resume(tmp_path: Path) -> None:
    first = ReportStep()
    train(replace(TINY, steps=3), tmp_path / "a", callbacks=(first,))
    # the resumed run adds a callback in front: the saved state still reaches ReportStep
    later = ReportStep()
    train(replace(TINY, steps=6), tmp_path / "b",
          callbacks=(Callback(), later), resume=tmp_path / "a" / "last.pt")
    assert later.calls["step"] == 6 and later.calls["start"] == 2


def test_conditional_training_and_grid(tmp_path: Path) -> None:
    result = train(replace(TINY, conditional=True, steps=2, arch="resize_conv"), tmp_path)
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt["arch_config"]["num_classes"] == 10
    from PIL import Image

    with Image.open(tmp_path / "samples" / "step000002.png") as grid:
        assert grid.size == (10 * 18 + 2, 8 * 18 + 2)  # one column per digit, 8 rows


@pytest.mark.parametrize("loss", ["wasserstein", "relativistic_average"])
def test_other_losses_train(tmp_path: Path, loss: str) -> None:
    regs = ("wgan_gp",) if loss == "wasserstein" else ("label_smoothing", "minibatch_stddev")
    result = train(replace(TINY, loss=loss, regularizers=regs, steps=2, arch="mlp"), tmp_path)
    assert result.step == 2 and torch.isfinite(torch.tensor(result.g_loss))


class Collapse(Callback):
    """After step 2, every latent maps to the same image: tanh(0) everywhere."""

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, float]) -> None:
        if step == 2:
            with torch.no_grad():
                for p in trainer.gen.body[-1].parameters():
                    p.zero_()


def test_collapse_is_warned_and_logged(tmp_path: Path) -> None:
    cfg = replace(TINY, ema=0.0, collapse_ratio=1e-4, lr_g=1e-12, steps=4)
    with pytest.warns(CollapseWarning, match="mode collapse suspected"):
        train(cfg, tmp_path, callbacks=(Collapse(),))
    records = [json.loads(line) for line in (tmp_path / "health.jsonl").open()]
    assert "warning" not in records[0] and records[1]["diversity"] < 1e-9
    assert records[1]["warning"].startswith("mode collapse suspected")
