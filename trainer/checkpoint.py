"""Self-describing checkpoints: plain data (tensors, numbers, strings), never pickled code.

A checkpoint records the architecture name and config, so the generator is rebuilt through the
registry and loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

import torch
from torch import nn

from ganedge.errors import CheckpointError, ConfigError, InputError
from ganedge.io.files import atomic_path, check_input_file, os_errors
from trainer import checkpoint_schema as schema
from trainer.config import ArchConfig, TrainConfig, upgrade as upgrade_config
from trainer.models import build_generator

CHECKPOINT_FORMAT = "ganedge.checkpoint"
CHECKPOINT_VERSION = 2  # 2: optimizers, EMA, RNG, metrics, callbacks for exact resume


def save_checkpoint(path: str | Path, arch: str, arch_config: ArchConfig, generator: nn.Module,
                    step: int, **extra: Any) -> Path:
    """Write a checkpoint atomically; ``extra`` adds plain-data entries (D, optimizers, config)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "arch": arch,
        "arch_config": asdict(arch_config),
        "generator": generator.state_dict(),
        "step": step,
        **extra,
    }
    path = Path(path)
    with atomic_path(path, "checkpoint") as tmp, open(tmp, "wb") as handle:
        _save(payload, handle)
    return path


class _Writer:
    """A file wrapper that keeps the OSError of a failed write: torch.save reports it only as
    an opaque RuntimeError, and "disk full" must reach the user as such."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.error = handle, None

    def write(self, data: bytes) -> int:
        try:
            return self.handle.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.handle.flush()


def _save(payload: dict[str, Any], handle: BinaryIO) -> None:
    writer = _Writer(handle)
    try:
        torch.save(payload, writer)
    except RuntimeError:
        if writer.error is not None:
            raise writer.error from None
        raise


def publish(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` atomically (hard link, or a copy where links fail)."""
    tmp = dst.with_name(f".{dst.name}.link")
    with os_errors(dst):
        tmp.unlink(missing_ok=True)
        try:
            try:
                os.link(src, tmp)
            except OSError:
                shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
        finally:
            tmp.unlink(missing_ok=True)


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside data-parallel and compile wrappers, however deeply nested:
    ``module.module`` of DistributedDataParallel/DataParallel (which Accelerate's ``prepare``
    returns) and ``_orig_mod`` of ``torch.compile``."""
    while True:
        if isinstance(module, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            module = module.module
        elif isinstance(getattr(module, "_orig_mod", None), nn.Module):
            module = module._orig_mod
        else:
            return module


def save_generator(generator: nn.Module, path: str | Path, *, arch: str, arch_config: ArchConfig,
                   step: int = 0, generator_ema: nn.Module | None = None, **extra: Any) -> Path:
    """Save a generator from any PyTorch loop as a checkpoint ``ganedge export`` accepts.

    ``arch`` must be registered (built-in, ``register_architecture``, or the
    ``ganedge.architectures`` entry point) and rebuild ``generator`` from ``arch_config``: the
    checkpoint holds only weights, so this is checked now by loading them into a fresh build.

    Wrapped modules are unwrapped first (DistributedDataParallel, DataParallel, Accelerate's
    wrappers, ``torch.compile``), so the checkpoint holds the plain module's weight names.

    Example:
        >>> g = build_generator("dcgan", ArchConfig(image_size=16))
        >>> save_generator(g, "/tmp/g.pt", arch="dcgan", arch_config=ArchConfig(image_size=16))
        PosixPath('/tmp/g.pt')
    """
    generator = unwrap(generator)
    try:
        build_generator(arch, arch_config).load_state_dict(generator.state_dict())
    except RuntimeError as exc:
        raise ConfigError(
            f"arch: {arch!r} built from arch_config does not match the generator's weights "
            f"({str(exc).splitlines()[0]}): register the generator's own class"
        ) from None
    if generator_ema is not None:
        extra["generator_ema"] = unwrap(generator_ema).state_dict()
    return save_checkpoint(path, arch, arch_config, generator, step, **extra)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (data, never code) and check what every use
    needs — format, version, architecture, config, step, the generator's weight names and shapes
    and the model's size against a budget — before anything is built; raises CheckpointError.
    A resume checks the training state as well (:func:`trainer.checkpoint_schema.check_resumable`).
    """
    path = check_input_file(Path(path), "checkpoint", "a ckpt.pt path")
    schema.check_archive(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise CheckpointError(
            f"{str(path)!r} is not a ganedge checkpoint ({type(exc).__name__}): "
            "give a ckpt.pt written by `ganedge train`", param="checkpoint"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{str(path)!r} is not a ganedge checkpoint: "
            "give a ckpt.pt written by `ganedge train` or trainer.save_generator",
            param="checkpoint")
    schema.check_payload(ckpt, path, CHECKPOINT_VERSION)
    return ckpt


def load_resumable(path: str | Path) -> dict[str, Any]:
    """:func:`load_checkpoint` plus the training state a resume restores (discriminator,
    optimizers, scalers, RNG, counters, the training config); raises CheckpointError."""
    ckpt = load_checkpoint(path)
    schema.check_resumable(ckpt, path)
    return ckpt


def resume_config(path: str | Path) -> TrainConfig:
    """The training config a resumable checkpoint was written with, checked like its weights."""
    saved = load_resumable(path)["train_config"]
    try:
        # a config from before `precision` holds `amp`: read as today's fields first
        data = upgrade_config(saved) if isinstance(saved, dict) else saved
    except ConfigError as exc:
        raise schema.bad(path, f"train_config: {exc.render()}") from None
    schema.check_fields(data, TrainConfig, path, "train_config", skip=("model",))
    schema.arch_config(data.get("model", {}), path, "train_config.model")
    try:
        return TrainConfig.from_dict(data)
    except ConfigError as exc:
        raise schema.bad(path, f"train_config: {exc.render()}") from None


WEIGHTS = ("ema", "raw")


def generator_from_checkpoint(ckpt: dict[str, Any], weights: str = "ema",
                              path: str | Path = "(in memory)") -> nn.Module:
    """Rebuild the generator a checkpoint describes, in eval mode.

    ``weights="ema"`` loads the EMA generator (``generator_ema``) when the checkpoint has one and
    the raw generator otherwise; ``"raw"`` always loads the raw generator (``generator``).
    The checkpoint is checked first as :func:`load_checkpoint` does (``path`` names it in errors).
    """
    if weights not in WEIGHTS:
        raise InputError(f"must be one of {list(WEIGHTS)} (got {weights!r})", param="weights")
    cfg = schema.check_payload(ckpt, path, CHECKPOINT_VERSION)
    key = "generator_ema" if weights == "ema" and "generator_ema" in ckpt else "generator"
    generator = build_generator(ckpt["arch"], cfg)
    try:
        generator.load_state_dict(ckpt[key])
    except RuntimeError as exc:  # an architecture that could not be checked on the meta device
        raise schema.bad(path, f"{key} does not fit its architecture "
                         f"({str(exc).splitlines()[0][:120]})") from None
    return generator.eval()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, for provenance."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
