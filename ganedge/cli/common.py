"""What every command shares: one-line errors and the lazy import of the torch side."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import ParamSpec, TypeVar

import typer

from ganedge.errors import GanEdgeError, MissingExtraError

P = ParamSpec("P")
R = TypeVar("R")

TRAIN_EXTRA_HINT = "pip install 'ganedge[train]'"
# library parameters that every command spells its own way (a command's own options win)
LIBRARY_ALIASES = {"path": "MODEL", "n_or_seeds": "-n", "labels": "--label",
                   "keyframes": "--seeds", "batches": "--batch", "budget_s": "--budget", "shard": "--shard"}


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


def one_line_errors(command: Callable[P, R], aliases: Mapping[str, str] | None = None
                    ) -> Callable[P, R]:
    """Turn a GanEdgeError raised by the command into ``error: …`` on stderr and its exit code.

    The error's API parameter is shown as the command's flag for it (``truncation`` →
    ``--truncation``); ``aliases`` names library parameters that the command spells differently
    (e.g. ``{"n_or_seeds": "-n"}``)."""
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
    """Raise MissingExtraError with the install line when torch/onnx are not installed."""
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(
            f"`ganedge {command}` needs PyTorch ({exc.name} is missing): {TRAIN_EXTRA_HINT}"
        ) from None
