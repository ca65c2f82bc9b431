"""Export a trainer checkpoint: rebuild its generator through the registry, then export it."""

from __future__ import annotations

from pathlib import Path

from exports.onnx import DEFAULT_OPSET, ExportResult, export_generator
from trainer.checkpoint import file_sha256, generator_from_checkpoint, load_checkpoint


def export_checkpoint(ckpt_path: str | Path, out_path: str | Path | None = None,
                      opset: int = DEFAULT_OPSET, allow_mismatch: bool = False) -> ExportResult:
    """Export ``ckpt.pt`` to ``out_path`` (default: ``model.onnx`` beside the checkpoint)."""
    ckpt_path = Path(ckpt_path)
    ckpt = load_checkpoint(ckpt_path)
    generator = generator_from_checkpoint(ckpt)
    out = Path(out_path) if out_path is not None else ckpt_path.with_name("model.onnx")
    provenance = {
        "checkpoint_sha256": file_sha256(ckpt_path),
        "step": ckpt["step"],
        "arch": ckpt["arch"],
        "arch_config": ckpt["arch_config"],
    }
    return export_generator(generator, out, latent_dim=ckpt["arch_config"]["latent_dim"],
                            opset=opset, provenance=provenance, allow_mismatch=allow_mismatch)
