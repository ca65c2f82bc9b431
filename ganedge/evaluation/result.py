"""An evaluation's figures beside the real-vs-real floor, its protocol, and their rendering."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from ganedge.errors import InputError

MAX_LISTED = 20  # missing modes named in the text rendering (stacked digits may miss hundreds)


@dataclass(frozen=True)
class Figure:
    """One metric for the generated images and the same metric for held-out real images."""

    name: str  # e.g. "FD", "precision"
    value: float  # generated images against the real reference split
    floor: float  # held-out real split against the same reference: the best to expect
    better: str  # "lower" or "higher"


@dataclass(frozen=True)
class EvalResult:
    """Figures, mode findings and the protocol that produced them."""

    figures: tuple[Figure, ...]
    missing_modes: tuple[str, ...]  # class names the generator does not cover (labeled data)
    collapse: bool  # True when any real class is not covered
    protocol: dict[str, Any]  # how the figures were made; see ganedge.evaluation.evaluator

    def __getitem__(self, name: str) -> Figure:
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise InputError(f"figure: no {name!r} in this result "
                         f"(have {[f.name for f in self.figures]})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: figures, mode findings, protocol."""
        return {"figures": {f.name: {k: v for k, v in asdict(f).items() if k != "name"}
                            for f in self.figures},
                "missing_modes": list(self.missing_modes), "collapse": self.collapse,
                "protocol": self.protocol}

    def to_json(self) -> str:
        """The result as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def format(self) -> str:
        """A plain-text table (metric, generated, real-vs-real, better) and the protocol under
        it."""
        rows = [("metric", "generated", "real-vs-real", "better")]
        rows += [(f.name, _number(f.value), _number(f.floor), f.better) for f in self.figures]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                 for row in rows]
        if self.collapse:
            shown = ", ".join(self.missing_modes[:MAX_LISTED])
            more = len(self.missing_modes) - MAX_LISTED
            lines.append(f"mode collapse: classes {shown}{f' and {more} more' if more > 0 else ''} "
                         "not covered")
        lines.append("protocol:")
        lines += [f"  {key}: {_flat(value)}" for key, value in self.protocol.items()]
        return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() and abs(value) < 1e6 else f"{value:.4g}"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    return json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
