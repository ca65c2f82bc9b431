"""``ganedge export``: checkpoint → ONNX with a parity proof (needs the torch extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from ganedge.cli.common import one_line_errors, require_torch
from ganedge.convert import TARGETS, convert_to_ort
from ganedge.errors import InputError


@one_line_errors
def export(
    checkpoint: Path = typer.Argument(..., help="ckpt.pt written by `ganedge train`, or an "
                                 "NVlabs StyleGAN2-ADA network-snapshot .pkl (read as data)."),
    out: Path = typer.Option(None, "-o", "--out", help="ONNX file (default: model.onnx beside the "
                             "checkpoint; model-int8.onnx etc. for variants)."),
    weights: str = typer.Option("ema", "--weights", help="ema (default; raw if none) or raw; "
                                 "for a .pkl: G_ema or G."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset version, 11-20."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, fp16 (for GPUs) or int8 "
                                  "(static, per-channel, calibrated on the model's latents)."),
    output: str = typer.Option("float", "--output", help="float: (B, C, H, W) in [-1, 1]; uint8: "
                               "display-ready (B, H, W, C) pixels computed in the graph."),
    optimize: bool = typer.Option(True, "--optimize/--no-optimize", help="Graph rewrites "
                                  "(ConvTranspose → Conv, ORT basic level), kept whenever exact."),
    int8_weight_bits: int = typer.Option(7, "--int8-weight-bits", help="int8 weights: 7 bits run "
                                         "exactly on every x86 CPU; 8 bits are more precise on "
                                         "CPUs with AVX-512 VNNI, AVX-VNNI or AMX."),
    grade: str = typer.Option(None, "--grade", help="Also score the fp16/int8 variant and fp32 "
                              "with the offline metric on this data: digits, a folder or a .npz."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Write the file even if parity fails."),
    fmt: str = typer.Option("onnx", "--format", help="onnx, or ort: also write the ORT-format "
                            "model (mobile, minimal and web builds) beside it, checked against it."),
) -> None:
    """Export a checkpoint's generator to ONNX with a dynamic batch axis and the ganedge contract.

    Prints one timed ✓/✗ line per step: trace, parity with PyTorch at batch 1/3/64, graph rewrites,
    the reduced-precision variant's error against fp32, the write. The same checkpoint and options
    give the same file on any machine; time it with `ganedge bench` where it will run.
    """
    if fmt not in ("onnx", *TARGETS):
        raise InputError(f"unknown format {fmt!r}: choose one of {['onnx', *TARGETS]}", param="fmt")
    require_torch("export")
    from exports.checkpoint import export_checkpoint

    typer.echo(f"exporting {checkpoint}")
    result = export_checkpoint(checkpoint, out, weights=weights, opset=opset, precision=precision,
                               output=output, allow_mismatch=allow_mismatch, optimize=optimize,
                               int8_weight_bits=int8_weight_bits,
                               grade_data=grade, on_step=lambda step: typer.echo(step.format()))
    c = result.contract
    status = "parity ok" if result.parity.ok else "PARITY MISMATCH (written with --allow-mismatch)"
    typer.echo(f"exported {result.path}: z {c.latent_dim} → {c.output_dtype} {c.output_layout} "
               f"{c.channels}×{c.height}×{c.width}, {precision}, {status}")
    if fmt == "ort":
        converted = convert_to_ort(result.path)
        typer.echo(f"wrote {converted.path} (ORT format, contract carried; max difference to the "
                   f".onnx: {converted.max_abs_diff:.2g})")
