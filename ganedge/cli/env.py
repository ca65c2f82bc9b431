"""``ganedge env``: versions, providers that really work, CUDA libraries found, threads."""

from __future__ import annotations

import json

import typer

from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.sections import render_sections
from ganedge.runtime.envinfo import environment_report


@one_line_errors
def env(as_json: bool = JSON, quiet: bool = QUIET, version: bool = VERSION) -> None:
    """Report what this environment can run: a session is started on each provider to prove it."""
    report = environment_report()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    if not quiet:
        typer.echo("\n".join(render_sections(report)))
    if report["onnxruntime_packages"]["conflict"]:
        typer.echo("problem: both onnxruntime and onnxruntime-gpu are installed and shadow each "
                   "other: pip uninstall -y onnxruntime onnxruntime-gpu && pip install "
                   "onnxruntime-gpu", err=True)

