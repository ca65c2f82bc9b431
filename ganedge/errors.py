"""The exception family that library code raises and the CLI turns into one line.

Every message names the parameter or thing that was wrong, what was wrong, and the fix. Library
code names the API parameter (``param="n"`` → ``n: must be at least 1 (got 0)``) and never a CLI
flag; the CLI renders the same error with the flag the user typed (``-n: must be at least 1 (got
0)``) through :meth:`GanEdgeError.render`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# `name` in a message refers to another API parameter (a fix such as "drop `latent_dim`")
_REFERENCE = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


class GanEdgeError(Exception):
    """Base of every error ganedge raises on purpose; the CLI prints it as one line.

    ``param`` names the API parameter at fault (``"truncation"``, ``"seeds"``), or None when the
    error is about a file or the environment rather than one argument. A message refers to other
    parameters in backquotes (``"drop `latent_dim`"``), so the CLI can show those as flags too.

    >>> str(InputError("must be at least 1 (got 0)", param="n"))
    'n: must be at least 1 (got 0)'
    """

    exit_code: int = 1

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def __str__(self) -> str:
        return self.render()

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The message prefixed with the parameter's name in ``names`` (the CLI passes its flags),
        else the API name itself; backquoted references in ``names`` become those names."""
        names = names or {}
        message = _REFERENCE.sub(lambda m: names.get(m[1], m[0]), self.message)
        if self.param is None:
            return message
        return f"{names.get(self.param, self.param)}: {message}"

    def for_param(self, param: str) -> GanEdgeError:
        """The same error about another parameter: a caller that passed its own argument on
        (``images`` as a dataset ``data``) names the argument its user gave."""
        return type(self)(self.message, param=param)


class InputError(GanEdgeError):
    """A user-supplied value (option, path, seed list) is invalid."""

    exit_code = 2


class ConfigError(GanEdgeError):
    """A configuration (training, architecture, export) is invalid."""

    exit_code = 2


class OutputError(GanEdgeError):
    """A file or folder could not be written (disk full, read-only, permissions, name too long);
    the message names the path, and nothing partial is left under the final name."""


class ContractError(GanEdgeError):
    """A model's I/O contract is missing, malformed or from a newer format."""


class CheckpointError(GanEdgeError):
    """A checkpoint is unreadable, not a ganedge checkpoint, or from a newer format."""


class NonFiniteOutputError(GanEdgeError):
    """A model's output holds NaN or Inf where an image was expected."""


class ProviderError(GanEdgeError):
    """An ONNX Runtime execution provider was requested but cannot be used."""


class ParityError(GanEdgeError):
    """An exported model's outputs differ from PyTorch beyond tolerance."""


class MissingExtraError(GanEdgeError):
    """An optional dependency (torch, onnx, scikit-learn) is not installed."""

    exit_code = 3


def one_line(exc: BaseException, limit: int = 200) -> str:
    """The exception as one line of at most ``limit`` characters, for a table cell or an error
    message; a foreign exception keeps its type name, since its text alone may not say what
    failed."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, GanEdgeError):
        text = f"{type(exc).__name__}: {text}"
    return text[:limit]
