"""Ray's C++ core writes its log lines to the process's stderr file descriptor, past Python's
logging: an "E" line each time a Ray Data actor pool starts (whatever went right), notes while it
reconnects. The CLI reports its own progress and its own one-line errors, so while a Ray command
runs it keeps those lines off the terminal; Ray keeps them in its session's log files."""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# "[2026-12-04 22:20:09,008 E 13887 13887] core_worker.cc:2465: …"
RAY_LOG_LINE = re.compile(rb"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [DIWEF] \d+ \d+\] ")


@contextmanager
def ray_log_lines_off(quiet: bool) -> Iterator[None]:
    """For the block, this process's stderr file descriptor, and that of every process started
    in it, leads through a filter that drops Ray's C++ log lines and passes everything else as
    it comes (a progress line included); with ``quiet`` (the CLI's -q) it leads to /dev/null.
    ganedge's own error line is printed after the block, to the real stderr again."""
    sys.stderr.flush()
    saved = os.dup(2)
    pump = None
    if quiet:
        target = os.open(os.devnull, os.O_WRONLY)
    else:
        read_end, target = os.pipe()
        pump = threading.Thread(target=_forward, args=(read_end, saved), daemon=True,
                                name="ganedge-stderr")
        pump.start()
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        if pump is not None:
            # the pipe ends once no process holds its write end: Ray's processes started in the
            # block are gone by now; one that lingers must not hold up the command's exit
            pump.join(timeout=5)
        if pump is None or not pump.is_alive():
            os.close(saved)


def _forward(read_end: int, out: int) -> None:
    """Copy the pipe to ``out`` without Ray's log lines (a line's text before one, such as a
    progress bar's, goes on). A partial line goes on at once, unless its end may be the start
    of a Ray log line: that part waits for the rest. Reads until every writer is gone, even
    once ``out`` fails, so that no writer ever blocks on a full pipe."""
    pending, shown = b"", True
    try:
        while chunk := os.read(read_end, 1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            keep = b"".join(_without_ray_log(line + b"\n") for line in lines)
            held = _start_of_ray_log(pending)
            shown = shown and _write_all(out, keep + pending[:held])
            pending = pending[held:]
        if shown:
            _write_all(out, _without_ray_log(pending))
    finally:
        os.close(read_end)


def _without_ray_log(line: bytes) -> bytes:
    found = RAY_LOG_LINE.search(line)
    return line if found is None else line[:found.start()]


def _start_of_ray_log(partial: bytes) -> int:
    """Where a Ray log line may begin at the end of ``partial`` (its length if nowhere): a "["
    followed by nothing but characters of the line's "[date time level pid tid]" prefix."""
    cut = partial.rfind(b"[")
    tail = partial[cut + 1:]
    if cut < 0 or len(tail) > 40 or tail.strip(b"0123456789-:, DIWEF]"):
        return len(partial)
    return cut


def _write_all(fd: int, data: bytes) -> bool:
    """Whether ``data`` was written whole (False: the terminal or file went away)."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError:
        return False
    return True
