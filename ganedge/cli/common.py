"""What every command shares: one-line errors, ``--version``/``-h``/``-q``/``--json``, choices
read from where the names live, and the lazy import of the torch side."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any, ParamSpec, TypeVar

import typer

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


@contextmanager
def warnings_as_lines(*, quiet: bool) -> Iterator[None]:
    """Each warning the library raises inside (a provider fallback: RuntimeWarning) as one
    ``warning: …`` line on stderr once the block ends, instead of Python's two-line form with a
    source line; none with ``quiet``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        yield
    for warning in caught if not quiet else ():
        typer.echo(f"warning: {warning.message}", err=True)


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
