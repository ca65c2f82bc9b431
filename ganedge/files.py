"""Atomic file writing: readers never see a half-written model, checkpoint or image."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ganedge.errors import InputError


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Return ``path`` if its folder exists and is writable, else raise InputError."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder: give a file name", param=what)
    if not folder.is_dir():
        raise InputError(f"folder {str(folder)!r} does not exist: create it first", param=what)
    if not os.access(folder, os.W_OK):
        raise InputError(f"folder {str(folder)!r} is not writable: choose another path",
                         param=what)
    return path


def check_writable_folder(folder: Path, first_file: str, what: str = "output folder") -> None:
    """Raise InputError unless ``folder`` takes new files such as ``first_file``, or can be made."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{str(folder)!r} is a file: give a folder", param=what)
    # an existing folder must take new files; a new one must be creatable in its parent
    check_writable(folder / first_file if folder.is_dir() else folder, what)


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "output") -> Iterator[Path]:
    """Yield a temp path beside ``path``; it is renamed onto ``path`` only if the block succeeds.

    Example:
        >>> with atomic_path("/tmp/x.txt") as tmp:
        ...     _ = tmp.write_text("done")
    """
    path = check_writable(path, what)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
