"""The export report: one timed ✓/✗ line per step, so a user sees what was proven and how long
it took."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

OK, WARN, FAILED = "✓", "!", "✗"


@dataclass(frozen=True)
class Step:
    """One finished step of an export."""

    name: str  # e.g. "trace", "parity", "int8"
    status: str  # ✓ done, ! done with a warning (e.g. a variant slower than fp32), ✗ failed
    seconds: float
    detail: str  # one line: what was found or decided

    def format(self) -> str:
        """E.g. ``✓ parity     0.31 s  max 2.1e-06 abs at batch 1/3/64``."""
        return f"{self.status} {self.name:<10} {self.seconds:6.2f} s  {self.detail}"


@dataclass
class StepNote:
    """What a running step reports: its detail line, and whether it ends with a warning."""

    detail: str = ""
    warning: bool = False


@dataclass
class StepLog:
    """Steps as they finish; ``on_step`` sees each one at once (the CLI prints it live)."""

    on_step: Callable[[Step], None] | None = None
    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[StepNote]:
        """Time the block; a raised exception records ✗ with its message and propagates."""
        note = StepNote()
        start = time.perf_counter()
        try:
            yield note
        except Exception as exc:
            self._add(Step(name, FAILED, time.perf_counter() - start, " ".join(str(exc).split())))
            raise
        self._add(Step(name, WARN if note.warning else OK, time.perf_counter() - start,
                       note.detail))

    def _add(self, step: Step) -> None:
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
