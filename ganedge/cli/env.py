"""``ganedge env``: versions, providers that really work, CUDA libraries found, threads."""

from __future__ import annotations

import json

import typer

from ganedge.cli.common import one_line_errors
from ganedge.envinfo import environment_report


@one_line_errors
def env(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Report what this environment can run: a session is started on each provider to prove it."""
    report = environment_report()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    print_sections(report)
    if report["onnxruntime_packages"]["conflict"]:
        typer.echo("problem: both onnxruntime and onnxruntime-gpu are installed and shadow each "
                   "other: pip uninstall -y onnxruntime onnxruntime-gpu && pip install "
                   "onnxruntime-gpu", err=True)


def print_sections(report: dict) -> None:
    """Print a nested report as ``section:`` headers with indented ``key: value`` lines."""
    for section, value in report.items():
        if not isinstance(value, dict):
            typer.echo(f"{section}: {value}")
            continue
        typer.echo(f"{section}:")
        for key, item in value.items():
            shown = json.dumps(item) if isinstance(item, (dict, list)) else item
            typer.echo(f"  {key}: {shown}")
