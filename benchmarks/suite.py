"""The benchmark suite's table: which generators, which ways of running them, how they are built.

Generators are built with random initialisation (speed does not depend on training) from the
trainer's registered architectures, saved as real checkpoints and exported through the real
exporter, so torch and ONNX Runtime run the very same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from exports.checkpoint import export_checkpoint
from ganedge.bench import Candidate
from ganedge.bench.candidates import PLAIN_LABEL, failed_candidate, onnx_candidate
from ganedge.errors import one_line
from ganedge.runtime.ovsession import openvino_available
from ganedge.runtime.session import SessionSettings
from trainer.checkpoint import save_checkpoint
from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, build_generator


@dataclass(frozen=True)
class SuiteModel:
    """One generator of the suite."""

    name: str  # row/file name, e.g. "dcgan-64-rgb"
    arch: str  # registered trainer architecture
    config: ArchConfig  # its shape


SUITE = (
    SuiteModel("dcgan-64-rgb", "dcgan",
               ArchConfig(latent_dim=100, channels=3, image_size=64, base_channels=64)),
    SuiteModel("resize-conv-64-rgb", "resize_conv",
               ArchConfig(latent_dim=100, channels=3, image_size=64, base_channels=64)),
    SuiteModel("digits-32", "dcgan", ArchConfig()),
)
QUICK_SUITE = ("digits-32",)

# Reduced-precision exports tried next to fp32: (precision, output dtype, int8 weight bits).
VARIANTS = (("fp32", "uint8", 7), ("fp16", "float", 7), ("int8", "float", 7), ("int8", "uint8", 7),
            ("int8", "float", 8))
TORCH_KINDS = ("eager", "compile", "bf16")
SEED = 0


@dataclass(frozen=True)
class BuiltModel:
    """A suite model on disk: its checkpoint, fp32 export and whichever variants exported."""

    model: SuiteModel
    checkpoint: Path
    fp32: Path
    variants: dict[str, Path]  # "rewritten", "int8/uint8" → file
    notes: list[str]  # why a variant is missing


def skip_reason(model: SuiteModel) -> str | None:
    """Why this model cannot be built here (its architecture is not registered yet), or None."""
    if model.arch not in ARCHITECTURES.names():
        return (f"{model.name}: architecture {model.arch!r} is not registered in this checkout "
                f"(known: {ARCHITECTURES.names()}): skipped")
    return None


def variant_key(precision: str, output: str, bits: int) -> str:
    """E.g. "int8/float", or "int8/float/w8" for 8-bit int8 weights."""
    return f"{precision}/{output}" + ("" if bits == 7 else f"/w{bits}")


def build(model: SuiteModel, folder: Path, only: tuple[str, ...] | None = None) -> BuiltModel:
    """Random-init checkpoint + fp32 ONNX export as shipped (parity-checked, the plain trace), the
    fp32 graph with the ConvTranspose rewrites (what they cost or buy) + reduced-precision
    variants (``only`` those keys, or all)."""
    torch.manual_seed(SEED)
    generator = build_generator(model.arch, model.config).eval()
    ckpt = save_checkpoint(folder / f"{model.name}.pt", model.arch, model.config, generator, step=0)
    fp32 = export_checkpoint(ckpt, folder / f"{model.name}.onnx").path
    variants: dict[str, Path] = {}
    notes: list[str] = []
    variants["rewritten"] = export_checkpoint(ckpt, folder / f"{model.name}.rewritten.onnx",
                                              optimize=True).path
    for precision, output, bits in VARIANTS:
        key = variant_key(precision, output, bits)
        if only is not None and key not in only:
            continue
        path, note = _export_variant(ckpt, folder / f"{model.name}.{key.replace('/', '.')}.onnx",
                                     precision, output, bits)
        if path is not None:
            variants[key] = path
        else:
            notes.append(f"{model.name} {key}: {note}")
    return BuiltModel(model, ckpt, fp32, variants, notes)


def _export_variant(ckpt: Path, out: Path, precision: str, output: str,
                    bits: int) -> tuple[Path | None, str]:
    try:
        result = export_checkpoint(ckpt, out, precision=precision, output=output,
                                   int8_weight_bits=bits)
    except Exception as exc:  # a variant the exporter refuses is reported, the suite goes on
        return None, f"export failed: {one_line(exc, 160)}"
    return result.path, ""


def candidates(built: BuiltModel, kinds: tuple[str, ...] = TORCH_KINDS,
               threads: int | None = None) -> list[Candidate]:
    """Every way the suite runs one model, torch eager (the baseline) first; ``threads`` for
    torch and ganedge alike (None: physical cores); the plain ORT reference keeps ORT's own
    defaults. With the
    openvino extra installed, the fp32, rewritten and int8 files also run on OpenVINO."""
    from exports.torch_candidates import torch_candidates

    tuned = SessionSettings(threads=threads)
    ours = onnx_candidate(built.fp32, "cpu", label="ganedge", settings=tuned, reference=True)
    rows = torch_candidates(built.checkpoint, kinds, flops_per_image=ours.flops_per_image,
                            threads=threads)
    rows.append(onnx_candidate(built.fp32, "cpu", label=PLAIN_LABEL, plain=True))
    rows.append(ours)
    runs = [("cpu", "ganedge", built.variants)]
    if openvino_available():  # the same files on OpenVINO: fp32 as shipped, rewritten, int8
        runs.append(("openvino", "ganedge openvino",
                     {"": built.fp32, **{k: p for k, p in built.variants.items()
                                         if k == "rewritten" or k.startswith("int8/float")}}))
    for provider, prefix, files in runs:
        for key, path in files.items():
            label = f"{prefix} {key}".strip()
            try:
                rows.append(onnx_candidate(path, provider, label=label, settings=tuned))
            except Exception as exc:  # an unreadable variant still gets its ✗ row
                rows.append(failed_candidate(label, path, provider, str(exc)))
    return rows
