"""Protocol-buffer text format, written from plain Python values (Triton's ``config.pbtxt``).

Writing needs no protobuf: a config is a dict whose values are str (quoted), int, bool, Enum
(a bare enum name such as ``TYPE_FP32``), a dict (a nested message), a list of ints or strs
(``dims: [ 3, 64, 64 ]``) or a list of dicts (``input [ { … }, { … } ]``). Map fields such as
``parameters`` are lists of ``{"key": …, "value": …}`` dicts, written as repeated entries, which
is how the text format spells a map. The tests parse every written config with Triton's own
schema.

Example:
    >>> print(to_text({"name": "m", "dims": [3, 4], "kind": Enum("KIND_GPU")}), end="")
    name: "m"
    dims: [ 3, 4 ]
    kind: KIND_GPU
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INDENT = "  "
MAP_FIELDS = frozenset({"parameters", "input_map", "output_map", "inputs"})


class Enum(str):
    """An enum value: written bare (``KIND_GPU``), not quoted."""


def to_text(message: Mapping[str, Any], depth: int = 0) -> str:
    """The text format of ``message``, one field per line."""
    pad = INDENT * depth
    lines = []
    for name, value in message.items():
        if name in MAP_FIELDS:
            lines += [f"{pad}{name} {_block(entry, depth)}" for entry in value]
        elif isinstance(value, Mapping):
            lines.append(f"{pad}{name} {_block(value, depth)}")
        elif isinstance(value, list) and value and isinstance(value[0], Mapping):
            items = ",\n".join(pad + INDENT + _block(item, depth + 1) for item in value)
            lines.append(f"{pad}{name} [\n{items}\n{pad}]")
        elif isinstance(value, list):
            lines.append(f"{pad}{name}: [ {', '.join(_scalar(v) for v in value)} ]"
                         if value else f"{pad}{name}: [ ]")
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")
    return "".join(line + "\n" for line in lines)


def _block(message: Mapping[str, Any], depth: int) -> str:
    return "{\n" + to_text(message, depth + 1) + INDENT * depth + "}"


def _scalar(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"no text format for {type(value).__name__}")


def quote(text: str) -> str:
    """``text`` as a text-format string literal: backslash, quote and control characters escaped
    (non-ASCII as UTF-8 octal escapes, so the file is ASCII whatever a name holds)."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'
