"""Export an NVlabs StyleGAN2(-ADA) network pickle: read as data, rebuilt as ganedge's StyleGAN2.

The pickle is read by :mod:`exports.nvlabs_pickle` (no code from the file runs); the generator's
constructor kwargs become a :class:`StyleGAN2Config`, its tensors load one to one into
:class:`StyleGAN2Generator` (the same names and math as NVlabs'), and the result exports like any
ganedge StyleGAN2: mapping + synthesis in one ONNX file, truncation in W around the stored w_avg,
constant noise. A conditional pickle (c_dim > 0) takes class ids, fed to the mapping one-hot.

Example:
    >>> from exports.nvlabs_import import export_pickle
    >>> export_pickle("network-snapshot-000400.pkl", "model.onnx")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from exports.nvlabs_pickle import PARAM, NvlabsGenerator, read_generator
from exports.onnx import DEFAULT_OPSET, ExportResult, export_generator
from exports.report import Step
from ganedge.errors import CheckpointError, ConfigError, one_line
from trainer.checkpoint import file_sha256
from trainer.models.stylegan2 import StyleGAN2Config, StyleGAN2Generator

SOURCE = "nvlabs-stylegan2-ada-pickle"


def is_nvlabs_pickle(path: str | Path) -> bool:
    """Whether ``path`` names an NVlabs network pickle (``.pkl``) rather than a ganedge ckpt.pt."""
    return Path(path).suffix.lower() == ".pkl"


def generator_from_pickle(checkpoint: str | Path, weights: str = "ema"
                          ) -> tuple[StyleGAN2Generator, NvlabsGenerator]:
    """The pickle's generator as ganedge's StyleGAN2 in eval mode (constant noise), and what was
    read. Raises CheckpointError when the tensors do not fit the network its kwargs describe."""
    read = read_generator(checkpoint, weights)
    try:
        config = StyleGAN2Config(**read.config)
    except ConfigError as exc:
        raise CheckpointError(f"{read.network}'s kwargs: {exc}", param=PARAM) from None
    try:
        with torch.device("meta"):  # shapes only: kwargs claiming a huge network allocate nothing
            expected = StyleGAN2Generator(config).state_dict()
    except (RuntimeError, ValueError, OverflowError) as exc:
        raise CheckpointError(f"{read.network}'s kwargs describe no buildable StyleGAN2 "
                              f"({one_line(exc, 80)})", param=PARAM) from None
    _check_tensors(read, expected)
    model = StyleGAN2Generator(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
             for k, v in read.tensors.items()}
    model.load_state_dict(state, strict=True)
    return model.eval(), read


def _check_tensors(read: NvlabsGenerator, expected: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(expected) - set(read.tensors))
    unexpected = sorted(set(read.tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{read.network}'s tensors do not fit the StyleGAN2 its kwargs describe (missing "
            f"{missing[:3]}, unexpected {unexpected[:3]})", param=PARAM)
    for name, value in expected.items():
        shape = tuple(read.tensors[name].shape)
        if shape != tuple(value.shape):
            raise CheckpointError(f"{read.network}'s {name} is {shape}, its kwargs make it "
                                  f"{tuple(value.shape)}", param=PARAM)
        if not np.isfinite(read.tensors[name]).all():
            raise CheckpointError(f"{read.network}'s {name} holds NaN or infinity", param=PARAM)


def export_pickle(checkpoint: str | Path, out_path: str | Path | None = None, *,
                  weights: str = "ema", opset: int = DEFAULT_OPSET, allow_mismatch: bool = False,
                  optimize: bool | None = None, on_step: Callable[[Step], None] | None = None,
                  **options: object) -> ExportResult:
    """Export the pickle's generator (``weights`` "ema": G_ema, "raw": G) to ``out_path``
    (default: model.onnx beside the pickle), with parity against the rebuilt PyTorch module and
    the pickle's hash, network and NVlabs kwargs in the provenance. ``options`` pass through to
    :func:`exports.export_generator`."""
    checkpoint = Path(checkpoint)
    model, read = generator_from_pickle(checkpoint, weights)
    out = Path(out_path) if out_path is not None else checkpoint.with_name("model.onnx")
    provenance = {
        "checkpoint_sha256": file_sha256(checkpoint),
        "source": SOURCE,
        "network": read.network,
        "weights": "ema" if read.network == "G_ema" else "raw",
        "arch": "stylegan2",
        "arch_config": read.config,
        "nvlabs_kwargs": read.nvlabs_kwargs,
    }
    return export_generator(model, out, latent_dim=read.config["z_dim"],
                            num_classes=read.config["c_dim"], opset=opset, provenance=provenance,
                            allow_mismatch=allow_mismatch, optimize=optimize, on_step=on_step,
                            **options)  # type: ignore[arg-type]
