"""A corpus of hostile and damaged checkpoints, made from one real tiny checkpoint by editing its
plain-data dict and saving it again with torch.save (no committed binaries).

Each case names what it breaks and the words its one-line error must contain. ``resume_only``
cases are sound for export (they lack only training state) and are refused by a resume alone.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from trainer import train
from trainer.config import ArchConfig, preset

TINY = ArchConfig(image_size=16, base_channels=4, latent_dim=8)
MARKER = "pwned"  # the file a code-running checkpoint would create


def tiny_checkpoint(folder: Path) -> Path:
    """last.pt of a one-step run of a tiny DCGAN: every entry a resume needs."""
    cfg = preset("digits-dcgan", steps=1, batch_size=8, model=TINY, log_every=0,
                 sample_every=0, checkpoint_every=0)
    train(cfg, folder)
    return folder / "last.pt"


class RunsCode:
    """Unpickling this would run a shell command: weights_only loading must refuse it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return os.system, (f"touch {self.folder / MARKER}",)


@dataclass(frozen=True)
class Case:
    """One hostile checkpoint: how it is made from the valid dict, and what its error says."""

    name: str
    edit: Callable[[dict[str, Any], Path], Any]  # (valid checkpoint dict, folder) → object to save
    words: str  # must appear in the one-line error
    resume_only: bool = False


def _set(path: str, value: Any) -> Callable[[dict[str, Any], Path], Any]:
    """An edit that sets ``a.b.c`` to ``value`` (or deletes it when value is _DELETE)."""
    def edit(ckpt: dict[str, Any], folder: Path) -> Any:
        *parents, last = path.split(".")
        node = ckpt
        for key in parents:
            node = node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value
        return ckpt

    return edit


_DELETE = object()
_FIRST_WEIGHT = "body.1.weight"  # a weight of the DCGAN generator


def _reshape_first(ckpt: dict[str, Any], folder: Path) -> Any:
    ckpt["generator"][_FIRST_WEIGHT] = torch.zeros(3, 3)
    return ckpt


def _drop_first(ckpt: dict[str, Any], folder: Path) -> Any:
    del ckpt["generator"][_FIRST_WEIGHT]
    return ckpt


def _huge(field: str, value: int) -> Callable[[dict[str, Any], Path], Any]:
    def edit(ckpt: dict[str, Any], folder: Path) -> Any:
        ckpt["arch_config"][field] = value
        ckpt["train_config"]["model"][field] = value
        return ckpt

    return edit


CASES = (
    Case("not_a_dict", lambda c, f: [1, 2, 3], "is not a ganedge checkpoint"),
    Case("code_in_pickle", lambda c, f: {**c, "extra": RunsCode(f)},
         "is not a ganedge checkpoint (UnpicklingError)"),
    Case("no_arch", _set("arch", _DELETE), "arch must be an architecture name (got None)"),
    Case("arch_not_a_name", _set("arch", 7), "arch must be an architecture name (got 7)"),
    Case("unknown_arch", _set("arch", "vit"), "unknown architecture 'vit'"),
    Case("unknown_arch_field", _set("arch_config.depth", 3),
         "arch_config has unknown fields ['depth']"),
    Case("latent_dim_string", _set("arch_config.latent_dim", "8"),
         "arch_config.latent_dim must be a whole number (got '8')"),
    Case("latent_dim_1e12", _huge("latent_dim", 10**12),
         "latent_dim: must be at most 65536 (got 1000000000000)"),
    Case("over_budget", _huge("base_channels", 8192), "over the 2 GiB budget"),
    Case("wrong_weight_shape", _reshape_first,
         f"generator['{_FIRST_WEIGHT}'] has shape (3, 3), its architecture needs"),
    Case("missing_weight", _drop_first, f"missing ['{_FIRST_WEIGHT}']"),
    Case("weights_not_tensors", _set("generator", {"a": "b"}), "generator['a'] must be a tensor"),
    Case("step_string", _set("step", "5"), "step must be a whole number >= 0 (got '5')"),
    Case("step_negative", _set("step", -1), "step must be a whole number >= 0 (got -1)"),
    Case("version_true", _set("format_version", True),
         "format_version must be a whole number >= 1 (got True)"),
    Case("version_negative", _set("format_version", -1),
         "format_version must be a whole number >= 1 (got -1)"),
    Case("version_newer", _set("format_version", 3),
         "format 3, this ganedge reads up to 2: upgrade ganedge"),
    Case("no_discriminator", _set("discriminator", _DELETE),
         "discriminator must be a dict (got None)", resume_only=True),
    Case("optimizer_for_other_model", _set("optimizer_g.param_groups", []),
         "its training state does not fit this run", resume_only=True),
    Case("rng_wrong_size", _set("rng.torch", torch.zeros(3, dtype=torch.uint8)),
         "its training state does not fit this run", resume_only=True),
    Case("steps_string", _set("train_config.steps", "many"),
         "train_config.steps must be a whole number (got 'many')", resume_only=True),
    Case("metrics_not_numbers", _set("metrics", {"fd": "low"}),
         "metrics['fd'] must be a number (got 'low')", resume_only=True),
    Case("skipped_not_counts", _set("health.skipped", {"d": -1}),
         "health.skipped must hold whole g and d counts (got {'d': -1})", resume_only=True),
    Case("amp_not_a_flag", _set("train_config.amp", "yes"),
         "train_config: amp: must be true or false (got 'yes')", resume_only=True),
)


def build_corpus(valid: Path, folder: Path) -> dict[str, Path]:
    """Every case's checkpoint file in ``folder``, plus "truncated" (half the valid file)."""
    base = torch.load(valid, weights_only=True)
    paths = {}
    for case in CASES:
        paths[case.name] = folder / f"{case.name}.pt"
        torch.save(case.edit(copy.deepcopy(base), folder), paths[case.name])
    data = valid.read_bytes()
    paths["truncated"] = folder / "truncated.pt"
    paths["truncated"].write_bytes(data[: len(data) // 2])
    return paths


TRUNCATED = Case("truncated", lambda c, f: c, "is not a ganedge checkpoint")
ALL_CASES = (*CASES, TRUNCATED)
