"""EvalCallback and ``ganedge train --eval-every``: figures every K steps, eval.jsonl, best.pt by
FD, history kept across resume."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner, Result

from ganedge.cli import app
from ganedge.errors import ConfigError
from ganedge.evaluation import EvalConfig
from ganedge.evaluation.cache import CACHE_ENV
from ganedge.io.datasets import load_dataset
from ganedge.io.imaging import to_uint8_nhwc
from trainer import CALLBACKS, TrainConfig, load_checkpoint, train
from trainer.callbacks import EVAL_METRICS, EvalCallback
from trainer.config import ArchConfig
from trainer.loop import Trainer

TINY = ("--image-size", "16", "--base-channels", "4", "--latent-dim", "8", "--batch-size", "8",
        "--no-progress")
TINY_CFG = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                       steps=4, log_every=0, sample_every=0, checkpoint_every=2, ema=0.9)
# a feature network that trains in a fraction of a second (figures are rough, fine for plumbing)
FAST = EvalConfig(epochs=5, hidden=(32, 16), feature_size=16, kid_subsets=5, real_per_split=300)


@pytest.fixture(scope="module", autouse=True)
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Feature networks are cached in a module folder, never in the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("ganedge-cache")))
        yield


def invoke(*args: str) -> Result:
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"}).invoke(app, ["train", *args])


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "eval.jsonl").read_text().splitlines()]


def without_protocol(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "protocol"} for r in rows]


@pytest.fixture(scope="module")
def eval_args(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ...]:
    """--eval-every 2 --eval-n 64 against 120 digits in a .npz (quick feature network and floor)."""
    data = load_dataset("digits", 16)
    path = tmp_path_factory.mktemp("eval-data") / "digits120.npz"
    np.savez(path, images=to_uint8_nhwc(data.images[:120]), labels=data.labels[:120])
    return "--eval-every", "2", "--eval-n", "64", "--eval-data", str(path)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory,
            eval_args: tuple[str, ...]) -> tuple[Path, Result]:
    """``ganedge train --steps 6`` with ``eval_args`` (default preset, tiny model)."""
    out = tmp_path_factory.mktemp("eval-run")
    result = invoke("--out", str(out), "--steps", "6", *TINY, *eval_args)
    assert result.exit_code == 0, result.stderr
    return out, result


@pytest.mark.slow
def test_one_record_per_k_steps_with_finite_figures(cli_run: tuple[Path, Result]) -> None:
    out, _ = cli_run
    rows = records(out)
    assert [r["step"] for r in rows] == [2, 4, 6]
    for r in rows:
        assert set(r["floor"]) == {"fd", "kid", "precision", "recall", "density", "coverage",
                                   "modes", "kl", "confidence"}
        assert all(math.isfinite(r[k]) and math.isfinite(r["floor"][k]) for k in r["floor"])
        assert r["fd"] > r["floor"]["fd"] > 0 and r["n"] == 64
    # the protocol is written once, then named by its hash
    assert "protocol" in rows[0] and all("protocol" not in r for r in rows[1:])
    assert len({r["protocol_hash"] for r in rows}) == 1
    assert rows[0]["protocol"]["n_fake"] == 64 and rows[0]["protocol"]["generator"] == "ema"
    assert (out / "eval.png").is_file()


@pytest.mark.slow
def test_best_pt_is_the_step_with_the_lowest_fd(cli_run: tuple[Path, Result]) -> None:
    out, result = cli_run
    rows = records(out)
    best = min(rows, key=lambda r: r["fd"])
    saved = json.loads((out / "run.json").read_text())
    assert (saved["best_metric"], saved["best_mode"], saved["checkpoint_every"]) == ("fd", "min", 2)
    ckpt, last = load_checkpoint(out / "best.pt"), load_checkpoint(out / "last.pt")
    assert (ckpt["step"], ckpt["metrics"]["fd"]) == (best["step"], best["fd"])
    assert last["best"] == best["fd"]
    assert last["metrics"]["fd"] == rows[-1]["fd"] and last["metrics"]["kl"] == rows[-1]["kl"]
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith(f"eval: best fd {best['fd']:.4g} (real-vs-real "
                           f"{best['floor']['fd']:.4g}) at step {best['step']} of 3 evaluations")


@pytest.mark.slow
def test_resume_continues_the_history(cli_run: tuple[Path, Result], eval_args: tuple[str, ...],
                                      tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert invoke("--out", str(first), "--steps", "4", *TINY, *eval_args).exit_code == 0
    # into a fresh folder: the history travels in the checkpoint
    result = invoke("--out", str(second), "--resume", str(first / "last.pt"), "--steps", "6",
                    "--no-progress", *eval_args)
    assert result.exit_code == 0, result.stderr
    rows = records(second)
    assert without_protocol(rows) == without_protocol(records(cli_run[0]))  # bit-exact resume
    assert rows[:2] == records(first)
    assert len(load_checkpoint(second / "last.pt")["callbacks"]["EvalCallback#0"]["history"]) == 3


@pytest.mark.parametrize(("args", "message"), [
    (("--eval-data", "missing.npz"),
     "error: --eval-data: no dataset, folder or .npz file named 'missing.npz'"),
    (("--checkpoint-every", "3"),
     "error: --eval-every: 2 is not a multiple of --checkpoint-every 3"),
    (("--best-metric", "fid_score"), "error: --best-metric: unknown metric 'fid_score'"),
])
def test_bad_eval_options_are_one_line_errors(tmp_path: Path, args: tuple[str, ...],
                                              message: str) -> None:
    result = invoke("--out", str(tmp_path / "x"), "--steps", "2", *TINY, "--eval-every", "2", *args)
    assert result.exit_code == 2 and result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_eval_figures_need_eval_every(tmp_path: Path) -> None:
    result = invoke("--out", str(tmp_path / "x"), "--steps", "2", *TINY, "--best-metric", "kid")
    assert result.exit_code == 2
    assert result.stderr == "error: --best-metric: kid comes from evaluation: set --eval-every\n"


@pytest.mark.slow
def test_metrics_reported_and_training_unchanged(tmp_path: Path) -> None:
    callback = EvalCallback(every=2, n=32, config=FAST)
    trainer = Trainer(replace(TINY_CFG, best_metric="fd"), tmp_path / "eval", (callback,))
    trainer.fit()
    assert set(trainer.metrics) >= {"fd", "kid", "precision", "recall", "coverage", "modes", "kl"}
    fd = trainer.metrics["fd"]
    assert fd == callback.history[-1]["fd"] == records(tmp_path / "eval")[-1]["fd"]
    best, best_pt = callback.best("fd", "min"), load_checkpoint(tmp_path / "eval" / "best.pt")
    assert best is not None and best["step"] == best_pt["step"]
    # evaluating draws on no training randomness and leaves BatchNorm statistics alone
    train(TINY_CFG, tmp_path / "plain")
    with_eval, plain = (load_checkpoint(tmp_path / d / "last.pt") for d in ("eval", "plain"))
    for key in ("generator", "generator_ema", "discriminator"):
        for name, tensor in plain[key].items():
            assert torch.equal(tensor, with_eval[key][name]), f"{key}.{name} differs"


def test_conditional_generator_is_scored_on_its_labels(tmp_path: Path) -> None:
    callback = EvalCallback(every=2, n=40, config=FAST, seed=3)
    trainer = Trainer(replace(TINY_CFG, conditional=True, steps=2), tmp_path, (callback,))
    trainer.fit()
    assert 0 <= trainer.metrics["label_accuracy"] <= 1
    result = callback.evaluate(trainer)
    assert result.protocol["latents"] == "N(0, I) from torch seed 3, labels cycling over 10 classes"
    assert result["label accuracy"].value == trainer.metrics["label_accuracy"]
    # every figure's name and direction are in the table the CLI picks best_mode from
    modes = {"lower": "min", "higher": "max"}
    assert {f.name: modes[f.better] for f in result.figures} == {
        f.name: EVAL_METRICS[f.name][1] for f in result.figures}


def test_registered_and_checked() -> None:
    assert CALLBACKS.get("eval") is EvalCallback
    with pytest.raises(ConfigError, match="^every: must be at least 1"):
        EvalCallback(every=0)
    with pytest.raises(ConfigError, match="^every: 3 is not a multiple of `checkpoint_every`"):
        EvalCallback(every=3).check(replace(TINY_CFG, best_metric="precision"))
    EvalCallback(every=3).check(TINY_CFG)  # best.pt not chosen by an eval figure: no constraint
