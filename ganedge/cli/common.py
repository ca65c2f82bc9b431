"""What every command shares: one-line errors, ``--version``/``-h``/``-q``/``--json``, choices
read from where the names live, and the lazy import of the torch side."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from typer.core import TyperGroup

try:  # typer ≥ 0.2x carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click.exceptions import NoArgsIsHelpError, UsageError  # type: ignore[no-redef]

from ganedge import __version__
from ganedge.errors import GanEdgeError, MissingExtraError

P = ParamSpec("P")
R = TypeVar("R")

TRAIN_EXTRA_HINT = "pip install 'ganedge[train]'"
HELP_NAMES = ["-h", "--help"]

QUIET = typer.Option(False, "-q", "--quiet", help="Print nothing but errors (and --json's result).")
JSON = typer.Option(False, "--json", help="Print the result as one JSON object at the end.")


def choices(name: str, names: Iterable[str]) -> type[Enum]:
    """An Enum of ``names`` for options that repeat (typer lists Enum choices, not Literal ones,
    for ``list[...]`` options); read the chosen names with ``.value``."""
    return Enum(name, {n: n for n in names}, type=str)  # type: ignore[return-value]


def _print_version(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        typer.echo(f"ganedge {__version__}")
        raise typer.Exit()


VERSION = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                       expose_value=False, help="Print the version and exit.")


# commands on the torch side → their module: imported only when the command runs or its help is
# asked for, so `ganedge --help` and the runtime commands start without torch
LAZY_COMMANDS = {"train": "ganedge.cli.train", "export": "ganedge.cli.export"}


class Group(TyperGroup):
    """The ``ganedge`` group: lazy torch-side commands first, then the others in the order they
    were added, each with its whole summary."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """A usage error (unknown option, a value not among the choices) is one line too."""
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

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*LAZY_COMMANDS, *(name for name in self.commands if name not in LAZY_COMMANDS)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            self.commands[cmd_name] = _load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:
        # click cuts each summary to fit one line with "..."; the formatter wraps whole ones
        rows = [(name, self.commands[name].get_short_help_str(limit=1_000)
                 if name in self.commands else _summary(name))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _load_command(name: str) -> Any:
    """The click command of a lazy command; a missing torch-side package is one error line."""
    try:
        module = importlib.import_module(LAZY_COMMANDS[name])
    except ImportError as exc:
        error = MissingExtraError(f"`ganedge {name}` needs the {exc.name} package, which is not "
                                  f"installed: {TRAIN_EXTRA_HINT} brings it")
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(error.exit_code) from None
    app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
    app.command(name=name)(getattr(module, name))
    return typer.main.get_command(app)


def _summary(name: str) -> str:
    """A lazy command's summary, read from its module's source without importing it."""
    spec = importlib.util.find_spec(LAZY_COMMANDS[name])
    tree = ast.parse(Path(spec.origin).read_text()) if spec and spec.origin else None
    for node in tree.body if tree else ():
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ")
    return ""
# library parameters that every command spells its own way (a command's own options win)
LIBRARY_ALIASES = {"path": "MODEL", "n_or_seeds": "-n", "labels": "--label",
                   "keyframes": "--seeds", "batches": "--batch", "budget_s": "--budget",
                   "shard": "--shard"}


def flag_names(command: Callable[..., object]) -> dict[str, str]:
    """API parameter → the flag a user typed, from the command's own typer options: a parameter
    ``batch_size`` declared as ``typer.Option(64, "--batch-size", "-b")`` maps to ``--batch-size``
    (the first long name), so no command keeps a hand-written table that could drift."""
    names: dict[str, str] = {}
    for name, param in inspect.signature(command).parameters.items():
        decls = [d.split("/")[0] for d in getattr(param.default, "param_decls", None) or ()
                 if d.startswith("-")]
        if decls:
            names[name] = next((d for d in decls if d.startswith("--")), decls[0])
        elif isinstance(param.default, typer.models.ArgumentInfo):
            names[name] = name.upper()
    return names


def one_line_errors(command: Callable[P, R] | None = None, *,
                    aliases: Mapping[str, str] | None = None) -> Any:
    """Turn a GanEdgeError raised by the command into ``error: …`` on stderr and its exit code.

    The error's API parameter is shown as the command's flag for it (``truncation`` →
    ``--truncation``); ``aliases`` names library parameters that the command spells differently
    (``@one_line_errors(aliases={"budget_s": "--budget"})``)."""
    if command is None:
        return functools.partial(one_line_errors, aliases=aliases)
    names = {**LIBRARY_ALIASES, **flag_names(command), **(aliases or {})}

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except GanEdgeError as exc:
            typer.echo(f"error: {exc.render(names)}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return run


def require_torch(command: str) -> None:
    """Raise MissingExtraError naming the missing package and the extra that brings it."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            f"`ganedge {command}` needs the {exc.name} package, which is not installed: "
            f"{TRAIN_EXTRA_HINT} brings it"
        ) from None
