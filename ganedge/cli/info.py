"""``ganedge info``: what an exported model is, where it came from, and what runs it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.sections import render_sections
from ganedge.runtime import GeneratorModel


@one_line_errors
def info(
    model: Path = opt.MODEL,
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    strict_provider: bool = opt.STRICT_PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Print a model's contract, provenance, parity, inputs/outputs and the provider in use."""
    gen = opt.open_model(model, provider, threads, strict_provider, latent_dim, quiet=quiet)
    report = model_report(gen)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif not quiet:
        typer.echo("\n".join(render_sections(report)))


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
