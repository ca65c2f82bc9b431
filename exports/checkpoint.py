"""Export a trainer checkpoint: rebuild its generator through the registry, then export it."""

from __future__ import annotations

from pathlib import Path

from exports.onnx import DEFAULT_OPSET, ExportResult, export_generator
from ganedge.errors import ConfigError
from trainer.checkpoint import file_sha256, generator_from_checkpoint, load_checkpoint

PRECISIONS = ("fp32",)  # fp16/int8 (exports/quantize.py) are not built yet
OUTPUTS = ("float",)  # the in-graph uint8 tail is not built yet


def export_checkpoint(ckpt_path: str | Path, out_path: str | Path | None = None, *,
                      weights: str = "ema", opset: int = DEFAULT_OPSET, precision: str = "fp32",
                      output: str = "float", allow_mismatch: bool = False) -> ExportResult:
    """Export ``ckpt.pt`` to ``out_path`` (default: ``model.onnx`` beside the checkpoint).

    ``weights`` picks the EMA generator ("ema", the default; raw when the checkpoint has no EMA)
    or the raw one ("raw"). Provenance records the checkpoint hash, step, architecture and weights.
    """
    _check_choice("--precision", precision, PRECISIONS)
    _check_choice("--output", output, OUTPUTS)
    ckpt_path = Path(ckpt_path)
    ckpt = load_checkpoint(ckpt_path)
    generator = generator_from_checkpoint(ckpt, weights=weights)
    out = Path(out_path) if out_path is not None else ckpt_path.with_name("model.onnx")
    used = "ema" if weights == "ema" and "generator_ema" in ckpt else "raw"
    provenance = {
        "checkpoint_sha256": file_sha256(ckpt_path),
        "step": ckpt["step"],
        "arch": ckpt["arch"],
        "arch_config": ckpt["arch_config"],
        "weights": used,
        "precision": precision,
    }
    cfg = ckpt["arch_config"]
    return export_generator(generator, out, latent_dim=cfg["latent_dim"],
                            num_classes=cfg.get("num_classes", 0), opset=opset,
                            provenance=provenance, allow_mismatch=allow_mismatch)


def _check_choice(option: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{option}: must be one of {list(choices)} in this version (got {value!r})")
