"""DDP: two CPU processes under torchrun with gloo train in lockstep; rank 0's model is saved and
only rank 0 evaluates (the other rank goes on without waiting for it or deadlocking)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from trainer import load_checkpoint

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = textwrap.dedent("""
    import sys, torch
    from ganedge.evaluation import EvalConfig
    from trainer import ArchConfig, Callback, TrainConfig, train
    from trainer.callbacks import EvalCallback

    class SaveRank(Callback):
        def on_train_end(self, trainer):
            state = {"generator": trainer.gen.state_dict(),
                     "discriminator": trainer.disc.state_dict(),
                     "generator_ema": trainer.ema.state_dict()}
            torch.save(state, f"{sys.argv[1]}/rank{trainer.env.rank}.pt")

    cfg = TrainConfig(model=ArchConfig(latent_dim=8, image_size=16, base_channels=4), batch_size=8,
                      steps=3, log_every=1, sample_every=0, checkpoint_every=0, ema=0.9)
    fast = EvalConfig(epochs=2, hidden=(16,), feature_size=16, kid_subsets=2, real_per_split=100)
    evaluation = EvalCallback(every=1, n=32, config=fast)
    train(cfg, sys.argv[1] + "/run", callbacks=(SaveRank(), evaluation))
""")


@pytest.mark.slow
def test_two_gloo_processes_hold_identical_weights(tmp_path: Path) -> None:
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--standalone", str(script), str(tmp_path)],
        capture_output=True, text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin", "GANEDGE_CACHE": str(tmp_path / "cache"),
             "PYTHONPATH": str(ROOT)})  # this checkout's packages, whatever is installed
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    ckpt = load_checkpoint(tmp_path / "run" / "ckpt.pt")
    for key in ("generator", "discriminator", "generator_ema"):
        for name, tensor in ranks[0][key].items():
            assert torch.equal(tensor, ranks[1][key][name]), f"ranks differ at {key}.{name}"
            assert torch.equal(tensor, ckpt[key][name]), f"checkpoint differs at {key}.{name}"
    assert not (tmp_path / "run" / "rank1").exists() and ckpt["step"] == 3
    assert len((tmp_path / "run" / "health.jsonl").read_text().splitlines()) == 3  # rank 0 only
    evaluations = [json.loads(line) for line in (tmp_path / "run" / "eval.jsonl").open()]
    assert [r["step"] for r in evaluations] == [1, 2, 3]  # rank 0 only
