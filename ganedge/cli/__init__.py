"""The ganedge command line: one module per command, joined here.

The torch side (train, export) is imported inside its command, so ``ganedge --help``, ``sample``,
``walk``, ``info`` and ``env`` never load torch.
"""

from __future__ import annotations

import typer

from ganedge.cli.bench import bench
from ganedge.cli.convert import convert
from ganedge.cli.eval import eval_command
from ganedge.cli.export import export
from ganedge.cli.info import info
from ganedge.cli.mix import mix
from ganedge.cli.env import env
from ganedge.cli.sample import sample
from ganedge.cli.train import train
from ganedge.cli.walk import walk
from ganedge.cli.web import web

app = typer.Typer(
    name="ganedge",
    help="Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts say "[default: 64]"; as rich markup those brackets would vanish
    rich_markup_mode=None,
)
for command in (train, export, convert, sample, walk, mix, web, info, env, bench):
    app.command()(command)
app.command(name="eval")(eval_command)


def main() -> None:
    """Console-script entry point."""
    import onnxruntime as ort

    # this process is ours (unlike an app embedding the library): ORT's own log lines would
    # only repeat, in red, what ganedge reports as one line
    ort.set_default_logger_severity(4)
    app()
