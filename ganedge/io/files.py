"""Atomic file writing: readers never see a half-written model, checkpoint or image.

A file is written under a temporary name beside its final one
(``.ckpt.pt.<host>-<pid>-<token>.tmp``) and renamed onto it only when complete. The temporary is
created with mode 0666 and the kernel applies the umask, so results get the same permissions as any
other file the user writes. A run killed mid-write leaves its temporary behind; the next write into
that folder removes the temporaries of dead processes (see :func:`sweep_stale`), once per folder and
process.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

from ganedge.errors import InputError, OutputError

# .{name, at most 64 bytes}.{host tag}-{pid}-{token}.tmp, and the mkstemp names of earlier versions
_TEMP = re.compile(r"^\..+\.(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-[0-9a-f]{8}\.tmp$")
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# a temporary another machine (shared folder) or an older ganedge left: removed once this old
FOREIGN_STALE_S = 3600.0
NAME_BYTES = 64  # of the final name kept in a temporary's name, so the temporary fits NAME_MAX

_REASONS = {
    errno.ENOSPC: "no space left on the device: free some space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded: free some space or write elsewhere",
    errno.EFBIG: "file too large for this file system or limit: write elsewhere",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.EACCES: "permission denied: choose a folder you can write to",
    errno.EPERM: "operation not permitted: choose a folder you can write to",
    errno.ENAMETOOLONG: "the file name is too long (at most 255 bytes): choose a shorter name",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "it is a folder: give a file name",
    errno.EEXIST: "a file is in the way: remove it or choose another path",
    errno.ENOENT: "the folder is missing or takes no new files: choose another folder",
}


def os_error(path: str | Path, exc: OSError, what: str = "write") -> OutputError:
    """One line for an OSError met while writing ``path``: what failed, why, and the fix."""
    reason = _REASONS.get(exc.errno or 0)
    if reason is None:
        reason = f"{exc.strerror or type(exc).__name__}: check the path and the file system"
    return OutputError(f"cannot {what} {str(path)!r}: {reason}")


@contextlib.contextmanager
def os_errors(path: str | Path, what: str = "write") -> Iterator[None]:
    """Turn an OSError in the block (a log append, a plot) into one OutputError naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise os_error(path, exc, what) from None


def check_input_file(path: Path, param: str, wanted: str) -> Path:
    """Return ``path`` if it is a file to read, else InputError about the parameter ``param``
    saying what it is instead (a folder, nothing) and to give ``wanted`` ("a ckpt.pt path")."""
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder: give {wanted}", param=param)
    if not path.is_file():
        raise InputError(f"{str(path)!r} does not exist: give {wanted}", param=param)
    return path


def check_writable(path: str | Path, param: str = "path") -> Path:
    """Return ``path`` if its folder exists and is writable, else raise InputError about the
    parameter ``param``."""
    path = Path(path)
    folder = path.parent
    size = len(os.fsencode(path.name))
    if size > 255:
        raise InputError(f"file name {path.name[:40]!r}… is {size} bytes, over the 255 a file "
                         "system allows: choose a shorter name", param=param)
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder: give a file name", param=param)
    if not folder.is_dir():
        raise InputError(f"folder {str(folder)!r} does not exist: create it first", param=param)
    if not os.access(folder, os.W_OK):
        raise InputError(f"folder {str(folder)!r} is not writable: choose another path",
                         param=param)
    return path


def check_writable_folder(folder: Path, first_file: str, param: str = "outdir") -> None:
    """Raise InputError unless ``folder`` takes new files such as ``first_file``, or can be made."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{str(folder)!r} is a file: give a folder", param=param)
    # an existing folder must take new files; a new one must be creatable in its parent
    check_writable(folder / first_file if folder.is_dir() else folder, param)


def check_folder(folder: str | Path, param: str) -> Path:
    """Raise InputError unless ``folder`` is a folder, or can be created (its nearest existing
    ancestor is a writable folder), so a run finds out before any work."""
    folder = Path(folder)
    probe = folder
    while not os.path.lexists(probe) and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{str(probe)!r} is a file, not a folder: choose another folder",
                         param=param)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"folder {str(probe)!r} is not writable: choose another folder",
                         param=param)
    return folder


def make_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed; an OSError becomes one OutputError line."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot write into {str(folder)!r}: it is a file, not a folder: "
                          "remove it or choose another folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(folder, exc, "create folder") from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | Path, param: str = "path") -> Iterator[Path]:
    """Yield a temp path beside ``path``; it is renamed onto ``path`` only if the block succeeds.

    An OSError while creating, writing or renaming raises OutputError naming ``path``; the final
    name is then untouched and the temporary removed.

    Example:
        >>> with atomic_path("/tmp/x.txt") as tmp:
        ...     _ = tmp.write_text("done")
    """
    path = check_writable(path, param)
    _sweep_once(path.parent)
    tmp = _create_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise os_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def _create_temp(path: Path) -> Path:
    """An empty new file beside ``path`` with mode 0666 less the umask (the kernel applies it)."""
    stem = os.fsencode(path.name)[:NAME_BYTES].decode(errors="ignore")
    tmp = path.with_name(f".{stem}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise os_error(path, exc) from None
    return tmp


# Folders already swept by this process: a folder of 10^5 per-seed PNGs must not be listed again
# for each file. What dies after the sweep is left to the next process that writes there.
_swept: set[str] = set()
_swept_lock = threading.Lock()
_SWEPT_MAX = 4096  # forget them all past this many, so a long-lived host does not grow a set


def _sweep_once(folder: Path) -> None:
    key = os.path.abspath(folder)
    with _swept_lock:
        if key in _swept:
            return
        if len(_swept) >= _SWEPT_MAX:
            _swept.clear()
        _swept.add(key)
    sweep_stale(folder)


def sweep_stale(folder: Path) -> list[Path]:
    """Remove ganedge's own temporaries in ``folder`` that no live writer holds; returns them.

    A temporary of this machine whose process is gone is removed at once; one from another machine
    or an older ganedge (no process id in its name) once it is over an hour old. Nothing else
    is touched: only names of the temporary pattern, only in this folder.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if entry.name.endswith(".tmp") and _is_stale(entry):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _is_stale(entry: os.DirEntry[str]) -> bool:
    match = _TEMP.match(entry.name)
    # Windows' os.kill would end the process rather than probe it: judged by age there
    if match and match["host"] == _host_tag() and os.name != "nt":
        return not _alive(int(match["pid"]))
    if not (match or _LEGACY_TEMP.match(entry.name)):
        return False
    try:
        return entry.is_file(follow_symlinks=False) and (
            time.time() - entry.stat(follow_symlinks=False).st_mtime > FOREIGN_STALE_S)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's live process (or an absurd number): leave it alone
    return True


def _host_tag() -> str:
    """8 hex digits naming this machine, so a shared folder's other writers are not judged by
    process ids that mean nothing here."""
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"
