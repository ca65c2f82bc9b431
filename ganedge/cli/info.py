"""``ganedge info``: what an exported model is, where it came from, and what runs it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import one_line_errors
from ganedge.cli.env import print_sections
from ganedge.runtime import GeneratorModel


@one_line_errors
def info(
    model: Path = opt.MODEL,
    provider: str = opt.PROVIDER,
    strict_provider: bool = opt.STRICT_PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print a model's contract, provenance, parity, inputs/outputs and the provider in use."""
    gen = opt.open_model(model, provider, None, strict_provider, latent_dim)
    report = model_report(gen)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        print_sections(report)


def model_report(gen: GeneratorModel) -> dict[str, Any]:
    """The facts ``ganedge info`` prints about a loaded model, as plain data."""
    meta = gen.session.get_modelmeta()
    return {
        "file": str(gen.path),
        "size_bytes": gen.path.stat().st_size,
        "producer": meta.producer_name,
        "contract": asdict(gen.contract),
        "inputs": {i.name: f"{i.type} {_shape(i.shape)}" for i in gen.session.get_inputs()},
        "outputs": {o.name: f"{o.type} {_shape(o.shape)}" for o in gen.session.get_outputs()},
        "providers": gen.providers,
        "threads": gen.threads,
        "provenance": gen.provenance,
        "parity": gen.parity,
    }


def _shape(shape: list) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
