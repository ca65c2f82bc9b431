"""What every command shares: one-line errors and the lazy import of the torch side."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from ganedge.errors import GanEdgeError, MissingExtraError

P = ParamSpec("P")
R = TypeVar("R")

TRAIN_EXTRA_HINT = "pip install 'ganedge[train]'"


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a GanEdgeError raised by the command into ``error: …`` on stderr and its exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except GanEdgeError as exc:
            typer.echo(f"error: {exc}", err=True)
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
