"""Nested report data (``info``, ``env``) as sections a person reads: indented ``key: value``
lines, floats to four significant digits, lists of records one per line. ``--json`` keeps the
raw data for machines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INDENT = "  "


def render_sections(report: Mapping[str, Any]) -> list[str]:
    """The lines of ``report``: a nested mapping becomes an indented section.

    Example:
        >>> render_sections({"parity": {"ok": True, "max_err": 2.980232e-07}, "steps": [1, 2]})
        ['parity:', '  ok: yes', '  max_err: 2.98e-07', 'steps: 1, 2']
    """
    return _lines(report, 0)


def _lines(data: Mapping[str, Any], depth: int) -> list[str]:
    lines = []
    pad = INDENT * depth
    for key, value in data.items():
        if isinstance(value, Mapping) and value:
            lines += [f"{pad}{key}:", *_lines(value, depth + 1)]
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            lines += [f"{pad}{key}:", *(f"{pad}{INDENT}- {_inline(v)}" for v in value)]
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return lines


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_scalar(v)}" for k, v in value.items())
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_scalar(v) for v in value) or "none"
    if isinstance(value, Mapping):
        return _inline(value) or "none"
    return str(value)
