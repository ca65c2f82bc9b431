"""Progress of a long command: a bar on a terminal, plain lines at a steady pace in a log.

On a terminal the user watches a rich bar on stderr. Where output goes to a file or a pipe (a
log, ``nohup``, CI), the same progress becomes one plain line every 10% of the work or every
30 s, whichever comes first: ``train: 300/1500 steps (20%), 11.2 steps/s, ETA 1m47s, D 1.21``.
The rate and ETA count from the first line on, so a slow start (allocation, warm-up) does not
inflate the estimate; the first line has no ETA. Library code reports through callbacks; only
this module prints.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

LINE_FRACTION = 0.1  # a line at least every 10% of the work …
LINE_SECONDS = 30.0  # … and at least every 30 s
BAR_EXTRA_SECONDS = 1.0  # the bar's extra text is refreshed at most this often
RATE_WINDOW_S = 1.0  # a rate since the first line needs this long (work may come in bursts)
Extra = str | Callable[[], str]  # a callable is called only when the text is shown


def on_terminal() -> bool:
    """True when a person watches both output streams live."""
    return sys.stdout.isatty() and sys.stderr.isatty()


class Reporter:
    """Counts ``done`` of ``total`` units; shows a bar, plain lines, or nothing.

    ``enabled=False`` (``--no-progress``, ``-q``) shows nothing; ``to_stderr`` keeps stdout for a
    machine-readable result (``--json``). ``clock`` is for tests of the pacing.

    Example:
        >>> with Reporter("sample", 100, "images", enabled=False) as progress:
        ...     progress.advance(64)
    """

    def __init__(self, label: str, total: int, unit: str, *, enabled: bool = True,
                 to_stderr: bool = False, done: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.unit, self.done = label, max(total, 1), unit, done
        self.enabled, self.to_stderr, self.clock = enabled, to_stderr, clock
        self.bar = _bar(label) if enabled and on_terminal() else None
        self._task = None
        self._start = self._last_time = clock()
        self._start_done = self._last_done = done
        self._warm: tuple[float, int] | None = None  # (time, done) at the first line
        self._bar_extra_time = -BAR_EXTRA_SECONDS

    def __enter__(self) -> Reporter:
        if self.bar is not None:
            self.bar.start()
            self._task = self.bar.add_task(self.label, total=self.total, completed=self.done,
                                           extra="")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def restart(self, done: int) -> None:
        """Count from ``done`` (a resumed run); the rate counts only work done from now on."""
        self.done = self._start_done = self._last_done = done
        self._start = self._last_time = self.clock()
        self._warm = None

    def advance(self, count: int = 1, extra: Extra = "") -> None:
        """``count`` more units are done; ``extra`` (e.g. the latest losses) goes on the line."""
        self.update(self.done + count, extra)

    def update(self, done: int, extra: Extra = "") -> None:
        """``done`` units are done in all; ``extra`` may be a callable, called only when shown
        (e.g. figures that must be fetched from a GPU)."""
        self.done = done
        if not self.enabled:
            return
        now = self.clock()
        if self.bar is not None and self._task is not None:
            if now - self._bar_extra_time >= BAR_EXTRA_SECONDS or done >= self.total:
                self._bar_extra_time = now
                self.bar.update(self._task, completed=done, extra=_text(extra))
            else:
                self.bar.update(self._task, completed=done)
            return
        step = LINE_FRACTION * self.total
        due = (done // step > self._last_done // step or done >= self.total
               or now - self._last_time >= LINE_SECONDS)
        if due and done > self._last_done:
            self._last_time, self._last_done = now, done
            typer.echo(self.line(now, _text(extra)), err=self.to_stderr)
            if self._warm is None:
                self._warm = (now, done)

    def line(self, now: float, extra: str = "") -> str:
        """``label: done/total unit (pct%), rate unit/s[, ETA …][, extra]``: the rate since the
        first line (since the start for the first line itself, which shows no ETA, for a line
        less than RATE_WINDOW_S after the first, whose work may have arrived in one burst, and
        for the last line, which says how long the whole run took)."""
        elapsed = now - self._start
        left = self.total - self.done
        warm = self._warm
        steady = warm is not None and now - warm[0] >= RATE_WINDOW_S and left > 0
        since, base = warm if warm is not None and steady else (self._start, self._start_done)
        rate = (self.done - base) / (now - since) if now > since else 0.0
        eta = (f"took {_duration(elapsed)}" if left <= 0
               else f"ETA {_duration(left / rate)}" if rate > 0 and steady
               else "")
        parts = [f"{self.label}: {self.done}/{self.total} {self.unit} "
                 f"({100 * self.done // self.total}%)", f"{rate:.3g} {self.unit}/s", eta]
        return ", ".join(p for p in [*parts, extra] if p)


def _text(extra: Extra) -> str:
    return extra() if callable(extra) else extra


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _bar(label: str) -> Progress:
    # imported here: only a terminal pays rich's import time (logs and pipes never load it)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    # stderr, transient: stdout keeps only results, and the bar leaves no residue
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[extra]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
