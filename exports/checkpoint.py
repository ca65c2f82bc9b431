"""Export a trainer checkpoint: rebuild its generator through the registry, then export it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from exports.nvlabs_import import export_pickle, is_nvlabs_pickle
from exports.onnx import DEFAULT_OPSET, ExportResult, export_generator
from exports.report import Step
from trainer.checkpoint import file_sha256, generator_from_checkpoint, load_checkpoint


def export_checkpoint(ckpt_path: str | Path, out_path: str | Path | None = None, *,
                      weights: str = "ema", opset: int = DEFAULT_OPSET, precision: str = "fp32",
                      output: str = "float", allow_mismatch: bool = False,
                      optimize: bool | None = None, grade_data: str | None = None,
                      int8_weight_bits: int = 7,
                      on_step: Callable[[Step], None] | None = None) -> ExportResult:
    """Export ``ckpt.pt`` to ``out_path`` (default: :func:`default_name` beside the checkpoint).

    An NVlabs StyleGAN2(-ADA) ``.pkl`` is read as data and exported by
    :func:`exports.nvlabs_import.export_pickle` ("ema": G_ema, "raw": G).

    ``weights`` picks the EMA generator ("ema", the default; raw when the checkpoint has no EMA)
    or the raw one ("raw"). Provenance records the checkpoint hash, step, architecture and weights.
    The other options are :func:`exports.export_generator`'s.
    """
    ckpt_path = Path(ckpt_path)
    if is_nvlabs_pickle(ckpt_path):
        return export_pickle(ckpt_path, out_path, weights=weights, opset=opset,
                             allow_mismatch=allow_mismatch, optimize=optimize, on_step=on_step,
                             precision=precision, output=output, grade_data=grade_data)
    ckpt = load_checkpoint(ckpt_path)
    generator = generator_from_checkpoint(ckpt, weights=weights, path=ckpt_path)
    out = (Path(out_path) if out_path is not None
           else ckpt_path.with_name(default_name(precision, output)))
    used = "ema" if weights == "ema" and "generator_ema" in ckpt else "raw"
    provenance = {
        "checkpoint_sha256": file_sha256(ckpt_path),
        "step": ckpt["step"],
        "arch": ckpt["arch"],
        "arch_config": ckpt["arch_config"],
        "weights": used,
    }
    cfg = ckpt["arch_config"]
    return export_generator(generator, out, latent_dim=cfg["latent_dim"],
                            num_classes=cfg.get("num_classes", 0), opset=opset,
                            provenance=provenance, allow_mismatch=allow_mismatch,
                            precision=precision, output=output, optimize=optimize,
                            int8_weight_bits=int8_weight_bits,
                            grade_data=grade_data, on_step=on_step)


def default_name(precision: str, output: str) -> str:
    """model.onnx, or e.g. model-int8.onnx / model-uint8-out.onnx, so variants sit side by side."""
    parts = (["model"] + ([precision] if precision != "fp32" else [])
             + (["uint8-out"] if output == "uint8" else []))
    return "-".join(parts) + ".onnx"
