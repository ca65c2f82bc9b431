"""``ganedge convert``: an exported .onnx model to another format (ORT format for mobile/web)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import typer

from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.errors import InputError
from ganedge.runtime.convert import TARGETS, convert_to_ort

Target = Literal[TARGETS]  # type: ignore[valid-type]


@one_line_errors
def convert(
    model: Path = typer.Argument(..., metavar="MODEL",
                                 help="ONNX model written by `ganedge export`."),
    to: Target = typer.Option("ort", "--to", help="Target format: ort (ONNX Runtime's "
                              "flatbuffer format for mobile, minimal and web builds)."),
    out: Path = typer.Option(None, "-o", "--output", "--out", metavar="FILE", help="Output file "
                             "[default: the model's name with the target's suffix]."),
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Convert a model, carrying its contract along and checking the result against it."""
    if to not in TARGETS:
        raise InputError(f"unknown format {to!r}: choose one of {list(TARGETS)}", param="to")
    result = convert_to_ort(model, out)
    if as_json:
        typer.echo(json.dumps({"path": str(result.path), "source": str(result.source),
                               "size_bytes": result.size_bytes,
                               "max_abs_diff": result.max_abs_diff}, indent=2))
    elif not quiet:
        typer.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB, ORT format, contract "
                   f"carried; max difference to {result.source.name}: {result.max_abs_diff:.2g})")
