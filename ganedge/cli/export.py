"""``ganedge export``: checkpoint → ONNX with a parity proof (needs the train extra).

Imported only when ``export`` runs or its help is asked for (see ``COMMANDS`` in
``ganedge.cli``), so exports/ and torch load only then.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import typer

from exports.checkpoint import default_name, export_checkpoint
from exports.onnx import OUTPUTS, ExportResult
from exports.quantize import PRECISIONS
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.triton import report
from ganedge.io.files import check_folder
from ganedge.runtime.convert import TARGETS, ConvertResult, convert_to_ort
from ganedge.triton import TritonSettings, check_free, write_repository
from trainer.checkpoint import WEIGHTS

Weights = Literal[WEIGHTS]  # type: ignore[valid-type]
Precision = Literal[PRECISIONS]  # type: ignore[valid-type]
Pixels = Literal[OUTPUTS]  # type: ignore[valid-type]
Format = Literal[("onnx", *TARGETS, "triton")]  # type: ignore[valid-type]
TRITON_REPOSITORY = "model_repository"  # --format triton's default -o, beside the checkpoint


@one_line_errors(aliases={"path": "--output", "out_path": "--output", "output": "--pixels",
                          "grade_data": "--grade", "repository": "--output",
                          "name": "--output"})
def export(
    checkpoint: Path = typer.Argument(..., metavar="CKPT", help="ckpt.pt written by `ganedge "
                                      "train`, or an NVlabs StyleGAN2-ADA network-snapshot .pkl "
                                      "(read as data)."),
    out: Path = typer.Option(None, "-o", "--output", metavar="ONNX", help="ONNX file (default: "
                             "model.onnx beside the checkpoint; model-int8.onnx etc. for "
                             "variants); with --format triton the repository folder (default: "
                             "model_repository beside the checkpoint)."),
    weights: Weights = typer.Option("ema", "--weights", help="The EMA generator (raw when the "
                                    "checkpoint has none) or the raw one; for a .pkl: G_ema or "
                                    "G."),
    opset: int = typer.Option(17, "--opset", metavar="N", help="ONNX opset version, 11-20."),
    precision: Precision = typer.Option("fp32", "--precision", help="fp16 is for GPUs; int8 is "
                                        "static, per-channel, calibrated on the model's latents."),
    pixels: Pixels = typer.Option("float", "--pixels", help="float: (B, C, H, W) in [-1, 1]; "
                                  "uint8: display-ready (B, H, W, C) pixels computed in the "
                                  "graph."),
    optimize: bool = typer.Option(None, "--optimize/--no-optimize", help="Graph rewrites "
                                  "(ConvTranspose → Conv, ORT basic level), kept whenever exact "
                                  "(default: for fp16/int8, which need Conv; fp32 runs the "
                                  "plain trace, faster on the CPUs measured).",
                                  show_default=False),
    int8_weight_bits: int = typer.Option(7, "--int8-weight-bits", metavar="BITS", help="int8 "
                                         "weights: 7 bits run exactly on every x86 CPU; 8 bits "
                                         "are more precise on CPUs with AVX-512 VNNI, AVX-VNNI "
                                         "or AMX."),
    grade: str = typer.Option(None, "--grade", metavar="DATA", help="Also score the fp16/int8 "
                              "variant and fp32 with the offline metric on this data: digits, "
                              "a folder or a .npz."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch",
                                        help="Write the file even if parity fails."),
    fmt: Format = typer.Option("onnx", "--format", help="onnx; ort: also write the ORT-format "
                               "model (mobile, minimal and web builds) beside it, checked "
                               "against it; triton: write a Triton model repository (see "
                               "`ganedge triton` for its settings)."),
    force: bool = typer.Option(False, "--force", help="With --format triton: replace a model "
                               "folder that exists and is not empty."),
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Export a checkpoint's generator to ONNX with a dynamic batch axis and the ganedge contract.

    Prints one timed ✓/✗ line per step as it finishes: trace, parity with PyTorch at batch
    1/3/64, graph rewrites, the reduced-precision variant's error against fp32, the write. The same
    checkpoint and options give the same file on any machine; time it with `ganedge bench` where
    it will run.
    """
    talk = not quiet and not as_json
    if fmt == "triton":
        _export_triton(checkpoint, out, force=force, as_json=as_json, quiet=quiet,
                       weights=weights, opset=opset, precision=precision, output=pixels,
                       allow_mismatch=allow_mismatch, optimize=optimize,
                       int8_weight_bits=int8_weight_bits, grade_data=grade,
                       on_step=(lambda step: typer.echo(step.format())) if talk else None)
        return
    if talk:
        typer.echo(f"exporting {checkpoint}")
    result = export_checkpoint(checkpoint, out, weights=weights, opset=opset, precision=precision,
                               output=pixels, allow_mismatch=allow_mismatch, optimize=optimize,
                               int8_weight_bits=int8_weight_bits, grade_data=grade,
                               on_step=(lambda step: typer.echo(step.format())) if talk else None)
    converted = convert_to_ort(result.path) if fmt == "ort" else None
    if as_json:
        typer.echo(json.dumps(_result(result, precision, converted)))
    elif not quiet:
        c = result.contract
        status = ("parity ok" if result.parity.ok
                  else "PARITY MISMATCH (written with --allow-mismatch)")
        typer.echo(f"exported {result.path}: z {c.latent_dim} → {c.output_dtype} "
                   f"{c.output_layout} {c.channels}×{c.height}×{c.width}, {precision}, {status}")
        if converted is not None:
            typer.echo(f"wrote {converted.path} (ORT format, contract carried; max difference to "
                       f"the .onnx: {converted.max_abs_diff:.2g})")


def _export_triton(checkpoint: Path, repository: Path | None, *, force: bool, as_json: bool,
                   quiet: bool, **options: Any) -> None:
    """Export into a temporary folder, then write the repository from that .onnx: the same file
    `--format onnx` writes, served under the name of its default file (model, model-int8, …)."""
    repository = check_folder(repository or checkpoint.with_name(TRITON_REPOSITORY), "out")
    name = Path(default_name(options["precision"], options["output"])).stem
    check_free(repository, [name], force)  # before the export's minutes, not after
    if options["on_step"] is not None:
        typer.echo(f"exporting {checkpoint}")
    with tempfile.TemporaryDirectory(prefix="ganedge-export-") as tmp:
        result = export_checkpoint(checkpoint, Path(tmp) / f"{name}.onnx", **options)
        settings = TritonSettings()
        repo = write_repository(result.path, repository, name=name, settings=settings,
                                force=force)
    report(repo, settings, as_json=as_json, quiet=quiet)


def _result(result: ExportResult, precision: str,
            converted: ConvertResult | None) -> dict[str, object]:
    return {"path": str(result.path), "size_bytes": result.size_bytes, "precision": precision,
            "parity_ok": result.parity.ok, "parity": result.parity.to_dict(),
            "contract": asdict(result.contract), "provenance": result.provenance,
            "steps": [asdict(step) for step in result.steps],
            "ort_path": None if converted is None else str(converted.path)}
