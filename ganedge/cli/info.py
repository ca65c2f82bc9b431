"""``ganedge info``: what an exported model is, where it came from, and what runs it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from ganedge.cli.common import one_line_errors
from ganedge.providers import PROVIDER_CHOICES
from ganedge.runtime import load


@one_line_errors
def info(
    model: Path = typer.Argument(..., help="ONNX model written by `ganedge export`."),
    provider: str = typer.Option("auto", "--provider", help=f"One of {', '.join(PROVIDER_CHOICES)}."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print a model's contract, provenance, parity and the provider in use."""
    gen = load(model, provider=provider)
    report = {
        "file": str(model),
        "size_bytes": model.stat().st_size,
        "contract": asdict(gen.contract),
        "providers": gen.providers,
        "provenance": gen.provenance,
        "parity": gen.parity,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for section, value in report.items():
        if isinstance(value, dict):
            typer.echo(f"{section}:")
            for key, item in value.items():
                typer.echo(f"  {key}: {json.dumps(item) if isinstance(item, (dict, list)) else item}")
        else:
            typer.echo(f"{section}: {value}")
