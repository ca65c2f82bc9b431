"""The ganedge command line: one module per command, joined here.

Commands are loaded lazily: ``ganedge --help`` reads each command's one-line help from its
module's source without importing it, and ``ganedge CMD`` imports only CMD's module, so a command
pays for the libraries it uses (numpy, onnxruntime, torch) and nothing else. The torch side
(train, export) is further imported inside its command.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

# command name → (module, function); in the order ``ganedge --help`` lists them
COMMANDS = {
    "train": ("ganedge.cli.train", "train"),
    "export": ("ganedge.cli.export", "export"),
    "convert": ("ganedge.cli.convert", "convert"),
    "sample": ("ganedge.cli.sample", "sample"),
    "walk": ("ganedge.cli.walk", "walk"),
    "mix": ("ganedge.cli.mix", "mix"),
    "web": ("ganedge.cli.web", "web"),
    "info": ("ganedge.cli.info", "info"),
    "env": ("ganedge.cli.env", "env"),
    "bench": ("ganedge.cli.bench", "bench"),
    "eval": ("ganedge.cli.eval", "eval_command"),
}


@lru_cache(maxsize=None)
def _command(name: str) -> Any:
    module, function = COMMANDS[name]
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         rich_markup_mode=None)
    single.command(name=name)(getattr(importlib.import_module(module), function))
    return typer.main.get_command(single)


def short_help(name: str, limit: int = 70) -> str:
    """The first sentence of the command's docstring, read from its module's source without
    importing it, cut to ``limit`` characters."""
    first = " ".join(_docstring(name).split("\n\n")[0].split())
    sentence = first.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


def _docstring(name: str) -> str:
    module, function = COMMANDS[name]
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(str(spec.origin)).read_text(encoding="utf-8")) if spec else None
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_docstring(node) or ""
    return ""


class _LazyGroup(TyperGroup):
    """A typer group whose commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return _command(cmd_name) if cmd_name in COMMANDS else None

    def invoke(self, ctx: Any) -> Any:
        import onnxruntime as ort

        # this process is ours (unlike an app embedding the library): ORT's own log lines would
        # only repeat, in red, what ganedge reports as one line. Here, not at start-up: help
        # never reaches invoke, and needs no onnxruntime
        ort.set_default_logger_severity(4)
        return super().invoke(ctx)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, short_help(name, limit)) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="ganedge",
    cls=_LazyGroup,
    help="Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # help texts say "[default: 64]"; as rich markup those brackets would vanish
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime."""


def main() -> None:
    """Console-script entry point."""
    app()
