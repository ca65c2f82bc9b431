"""What a checkpoint must hold, checked before anything is built from it.

A checkpoint may come from a stranger: every entry is checked for type and range, the generator
is rebuilt on PyTorch's ``meta`` device (shapes only, no memory) so its size is held against a
budget and its weights' names and shapes against the file's, all before a real module is
allocated. Each failure is one CheckpointError line naming the file.
"""

from __future__ import annotations

import numbers
import zipfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganedge.errors import CheckpointError, ConfigError
from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, build_discriminator, build_generator

# Parameters and buffers of one model (G, or G + D to train): 2 GiB, about 500 M float32 values,
# far above any architecture here and far below what would take a host down.
MODEL_BUDGET_BYTES = 2 << 30
# A checkpoint's tensors as torch.load would allocate them (G, EMA, D, two Adam states): 16 GiB.
FILE_BUDGET_BYTES = 16 << 30
FIX = "give a checkpoint written by `ganedge train` or trainer.save_generator"


def bad(path: str | Path, what: str, fix: str = FIX) -> CheckpointError:
    """The one-line error for a checkpoint that fails a check."""
    return CheckpointError(f"{str(path)!r}: {what}: {fix}", param="checkpoint")


def check_archive(path: Path) -> None:
    """Refuse a zip checkpoint whose entries would unpack past the budget (a zip bomb), from
    its central directory alone."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # torch.load then says it is not a checkpoint
    if total > FILE_BUDGET_BYTES:
        raise bad(path, f"its data would unpack to {total / 2**30:.1f} GiB, over the "
                  f"{FILE_BUDGET_BYTES >> 30} GiB budget")


def check_payload(ckpt: dict[str, Any], path: str | Path, version: int) -> ArchConfig:
    """Check the entries every use needs (format_version, arch, arch_config, step, the
    generator's weights) and return the architecture config; raises CheckpointError."""
    found = ckpt.get("format_version")
    if not _whole(found) or found < 1:
        raise bad(path, f"format_version must be a whole number >= 1 (got {_short(found)})")
    if found > version:
        raise bad(path, f"format {found}, this ganedge reads up to {version}",
                  "upgrade ganedge (pip install -U ganedge)")
    arch = ckpt.get("arch")
    if not isinstance(arch, str):
        raise bad(path, f"arch must be an architecture name (got {_short(arch)})")
    if arch not in ARCHITECTURES.names():
        raise bad(path, f"unknown architecture {arch!r}", f"known ones are {ARCHITECTURES.names()}")
    cfg = arch_config(ckpt.get("arch_config"), path)
    step = ckpt.get("step")
    if not _whole(step) or step < 0:
        raise bad(path, f"step must be a whole number >= 0 (got {_short(step)})")
    expected = expected_shapes(arch, cfg, path)
    for key in ("generator", "generator_ema"):
        if key in ckpt or key == "generator":
            check_weights(ckpt.get(key), expected, path, key)
    return cfg


def arch_config(data: Any, path: str | Path, what: str = "arch_config") -> ArchConfig:
    """``data`` as an ArchConfig: known fields, each of its declared type, in range."""
    check_fields(data, ArchConfig, path, what)
    try:
        return ArchConfig(**data)
    except ConfigError as exc:
        raise bad(path, f"{what}.{exc.render()}") from None


# a dataclass field's declared type (a string under postponed annotations) → the check it needs
_TYPE_CHECKS = {
    "int": (lambda v: _whole(v), "a whole number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "float": (lambda v: _number(v), "a number"),
    "str": (lambda v: isinstance(v, str), "a string"),
    "tuple[str, ...]": (lambda v: isinstance(v, (list, tuple))
                        and all(isinstance(x, str) for x in v), "a list of names"),
}


def check_fields(data: Any, cls: type, path: str | Path, what: str,
                 skip: tuple[str, ...] = ()) -> None:
    """``data`` is a dict holding only ``cls``'s dataclass fields, each of its declared type."""
    if not isinstance(data, dict):
        raise bad(path, f"{what} must be a dict of settings (got {_short(data)})")
    known = {f.name: str(f.type) for f in fields(cls)}  # "int", "tuple[str, ...]", …
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise bad(path, f"{what} has unknown fields {unknown}",
                  "it needs a newer ganedge, or the file is damaged")
    for name, value in data.items():
        check = _TYPE_CHECKS.get(known[name])
        if name not in skip and check is not None and not check[0](value):
            raise bad(path, f"{what}.{name} must be {check[1]} (got {_short(value)})")


def expected_shapes(arch: str, cfg: ArchConfig,
                    path: str | Path) -> dict[str, tuple[int, ...]] | None:
    """Names → shapes of the generator's state, from a build on the meta device (no memory),
    after its size is held against MODEL_BUDGET_BYTES; None when it cannot be built there (a
    third party's architecture may not), and its real build is checked against the weights."""
    built = meta_build(arch, cfg)
    if built is None:
        return None
    size = state_bytes(built)
    if size > MODEL_BUDGET_BYTES:
        raise bad(path, f"arch_config makes a {arch} generator of {size / 2**30:,.1f} GiB, over "
                  f"the {MODEL_BUDGET_BYTES >> 30} GiB budget", "the file is damaged or hostile")
    return {k: tuple(v.shape) for k, v in built[0].state_dict().items()}


def check_model_budget(arch: str, cfg: ArchConfig) -> None:
    """Raise ConfigError when a generator and discriminator of ``cfg`` would together take more
    than MODEL_BUDGET_BYTES, before either is allocated."""
    built = meta_build(arch, cfg, discriminator=True)
    size = state_bytes(built) if built is not None else 0
    if size > MODEL_BUDGET_BYTES:
        raise ConfigError(f"model: {arch} at image_size {cfg.image_size}, base_channels "
                          f"{cfg.base_channels}, latent_dim {cfg.latent_dim} would take "
                          f"{size / 2**30:,.1f} GiB, over the {MODEL_BUDGET_BYTES >> 30} GiB "
                          "budget: make it smaller")


def meta_build(arch: str, cfg: ArchConfig, discriminator: bool = False) -> list[nn.Module] | None:
    """The generator (and discriminator) built on the meta device: shapes, no memory; None when
    the architecture's code cannot run there."""
    try:
        with torch.device("meta"):
            modules = [build_generator(arch, cfg)]
            if discriminator:
                modules.append(build_discriminator(arch, cfg))
    except Exception:  # noqa: BLE001 — any failure only means "no estimate"; the real build tells
        return None
    return modules


def state_bytes(modules: list[nn.Module]) -> int:
    """Bytes of every parameter and buffer of ``modules``."""
    return sum(t.numel() * t.element_size() for m in modules for t in m.state_dict().values())


def check_weights(weights: Any, expected: dict[str, tuple[int, ...]] | None, path: str | Path,
                  key: str) -> None:
    """``weights`` is a dict of float tensors with exactly the expected names and shapes."""
    if not isinstance(weights, dict) or not weights:
        raise bad(path, f"{key} must hold the model's weights (got {_short(weights)})")
    for name, value in weights.items():
        if not isinstance(value, torch.Tensor):
            raise bad(path, f"{key}[{name!r}] must be a tensor (got {_short(value)})")
    if expected is None:
        return
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise bad(path, f"{key} does not fit its architecture (missing {missing[:3]}, "
                  f"unexpected {extra[:3]})")
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise bad(path, f"{key}[{name!r}] has shape {tuple(weights[name].shape)}, its "
                      f"architecture needs {shape}")


# entries a resume restores beyond the generator, and the type each must have
RESUME_ENTRIES: dict[str, type | tuple[type, ...]] = {
    "discriminator": dict, "optimizer_g": dict, "optimizer_d": dict, "scaler": dict,
    "rng": dict, "train_config": dict, "metrics": dict, "health": dict, "callbacks": dict,
}


def check_resumable(ckpt: dict[str, Any], path: str | Path) -> None:
    """Check the training state a resume restores (types and the numbers read directly); shapes
    are checked as the trainer loads them."""
    for key, kind in RESUME_ENTRIES.items():
        if not isinstance(ckpt.get(key), kind):
            raise bad(path, f"{key} must be a dict (got {_short(ckpt.get(key))})",
                      "resume from a last.pt written by `ganedge train`")
    for name, value in ckpt["metrics"].items():
        if not _number(value):
            raise bad(path, f"metrics[{name!r}] must be a number (got {_short(value)})")
    if ckpt.get("best") is not None and not _number(ckpt["best"]):
        raise bad(path, f"best must be a number or null (got {_short(ckpt['best'])})")
    health = ckpt["health"]
    for name, check in (("rollbacks", _whole), ("lr_scale", _number), ("peak_diversity", _number)):
        if not check(health.get(name)):
            raise bad(path, f"health.{name} must be a number (got {_short(health.get(name))})")
    skipped = health.get("skipped", {})  # absent in checkpoints from before precision
    if not (isinstance(skipped, dict) and set(skipped) <= {"g", "d"}
            and all(_whole(n) and n >= 0 for n in skipped.values())):
        raise bad(path, f"health.skipped must hold whole g and d counts (got {_short(skipped)})")
    if not isinstance(ckpt["rng"].get("torch"), torch.Tensor):
        raise bad(path, "rng.torch must be a tensor (the saved random state)")
    if (not isinstance(ckpt["scaler"].get("g"), dict)
            or not isinstance(ckpt["scaler"].get("d"), dict)):
        raise bad(path, "scaler must hold the g and d GradScaler states")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _short(value: Any) -> str:
    """A value as a short repr for a one-line message."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}…"

