"""``ganedge export``: checkpoint → ONNX with a parity proof (needs the torch extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from ganedge.cli.common import one_line_errors, require_torch


@one_line_errors
def export(
    checkpoint: Path = typer.Argument(..., help="ckpt.pt written by `ganedge train`."),
    output: Path = typer.Option(None, "-o", "--output", help="ONNX file (default: model.onnx beside the checkpoint)."),
    weights: str = typer.Option("ema", "--weights", help="ema (default; raw if none) or raw."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset version."),
    precision: str = typer.Option("fp32", "--precision", help="fp32 (fp16/int8 not yet built)."),
    output_kind: str = typer.Option("float", "--output", help="float (uint8 tail not yet built)."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Write the file even if parity fails."),
) -> None:
    """Export a checkpoint's generator to ONNX with a dynamic batch axis and the ganedge contract."""
    require_torch("export")
    from exports.checkpoint import export_checkpoint

    result = export_checkpoint(checkpoint, output, weights=weights, opset=opset,
                               precision=precision, output=output_kind,
                               allow_mismatch=allow_mismatch)
    worst = max(b.max_abs for b in result.parity.batches)
    status = "parity ok" if result.parity.ok else "PARITY MISMATCH"
    c = result.contract
    typer.echo(f"exported {result.path} ({result.size_bytes / 1e6:.2f} MB, z {c.latent_dim} → "
               f"{c.channels}×{c.height}×{c.width}, {status}: max abs {worst:.2e} at batch "
               f"{','.join(str(b.batch) for b in result.parity.batches)})")
