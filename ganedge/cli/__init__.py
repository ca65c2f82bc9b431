"""The ganedge command line: one module per command, joined here.

The torch side (train, export) is imported inside its command, so ``ganedge --help``, ``info``
and ``sample`` never load torch.
"""

from __future__ import annotations

import typer

from ganedge.cli.bench import bench
from ganedge.cli.export import export
from ganedge.cli.info import info
from ganedge.cli.sample import sample
from ganedge.cli.train import train

app = typer.Typer(
    name="ganedge",
    help="Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (train, export, sample, info, bench):
    app.command()(command)


def main() -> None:
    """Console-script entry point."""
    app()
