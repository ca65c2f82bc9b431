"""The ganedge command line: one module per command, joined here.

Commands are loaded lazily: ``ganedge --help`` reads each command's summary from its module's
source without importing it, and ``ganedge CMD`` imports only CMD's module, so a command pays
for the libraries it uses (numpy, onnxruntime, torch) and nothing else. ``train`` and
``export`` need the torch side (the train extra); without it they say which package is missing.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup

from ganedge.cli.common import HELP_NAMES, TRAIN_EXTRA_HINT, VERSION
from ganedge.errors import MissingExtraError

try:  # typer ≥ 0.2x carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[no-redef]

# command name → (module, function); in the order ``ganedge --help`` lists them
COMMANDS = {
    "train": ("ganedge.cli.train", "train"),
    "export": ("ganedge.cli.export", "export"),
    "convert": ("ganedge.cli.convert", "convert"),
    "triton": ("ganedge.cli.triton", "triton"),
    "sample": ("ganedge.cli.sample", "sample"),
    "bulk": ("ganedge.cli.bulk", "bulk"),
    "walk": ("ganedge.cli.walk", "walk"),
    "mix": ("ganedge.cli.mix", "mix"),
    "web": ("ganedge.cli.web", "web"),
    "serve": ("ganedge.cli.serve", "serve"),
    "info": ("ganedge.cli.info", "info"),
    "env": ("ganedge.cli.env", "env"),
    "bench": ("ganedge.cli.bench", "bench"),
    "eval": ("ganedge.cli.eval", "eval_command"),
}


@cache
def _command(name: str) -> Any:
    module, function = COMMANDS[name]
    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:  # the torch side of a runtime-only install
        error = MissingExtraError(f"`ganedge {name}` needs the {exc.name} package, which is not "
                                  f"installed: {TRAIN_EXTRA_HINT} brings it")
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                         rich_markup_mode=None)
    single.command(name=name)(getattr(loaded, function))
    command = typer.main.get_command(single)
    for param in command.params:
        if isinstance(param, TyperArgument):
            # typer appends the Python annotation to an argument's name in help ("MODEL...
            # <list[Path]>"); the name and its help already say what to give
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    return command


def _no_type(ctx: Any) -> None:
    return None


def summary(name: str) -> str:
    """The first paragraph of the command's docstring, read from its module's source without
    importing it (whole: the help formatter wraps it)."""
    return " ".join(_docstring(name).split("\n\n")[0].split())


def _docstring(name: str) -> str:
    module, function = COMMANDS[name]
    spec = importlib.util.find_spec(module)
    tree = ast.parse(Path(str(spec.origin)).read_text(encoding="utf-8")) if spec else None
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return ast.get_docstring(node) or ""
    return ""


class _LazyGroup(TyperGroup):
    """A typer group whose commands are imported on first use; a usage error is one line."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except NoArgsIsHelpError:
            return super().main(*args, **kwargs)
        except UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} -h`)" if exc.ctx is not None else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
            raise SystemExit(exc.exit_code) from None
        raise SystemExit(code or 0)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return _command(cmd_name) if cmd_name in COMMANDS else None

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        import onnxruntime as ort

        # this process is ours (unlike an app embedding the library): ORT's own log lines would
        # only repeat, in red, what ganedge reports as one line. Here, not at start-up: help
        # never reaches invoke, and needs no onnxruntime
        ort.set_default_logger_severity(4)
        return super().invoke(ctx)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary(name)) for name in COMMANDS])


app = typer.Typer(
    name="ganedge",
    cls=_LazyGroup,
    help="Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime.",
    no_args_is_help=True,
    context_settings={"help_option_names": HELP_NAMES},
    pretty_exceptions_enable=False,
    # help texts say "[default: 64]"; as rich markup those brackets would vanish
    rich_markup_mode=None,
)


@app.callback()
def _root(version: bool = VERSION) -> None:
    """Train GAN generators, export them to ONNX, and sample them fast with ONNX Runtime."""


def main() -> None:
    """Console-script entry point."""
    app()
