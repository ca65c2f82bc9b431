"""Write ganedge/web/static/ziggurat.mjs: numpy's ziggurat tables for the JavaScript sampler.

The browser's latents must equal numpy's bit for bit, so the JavaScript ziggurat needs numpy's
exact tables. Their defining recurrence (layer edges x_{i+1} = f⁻¹(f(x_i) + V/x_i), f(x) =
exp(-x²/2)) is ill-conditioned near the top layer: recomputed with another libm it drifts by
~1e-13, which would flip the last float32 bit of about one latent value in a million. So the
tables are read out of the installed numpy's compiled generator, found by that recurrence
(every entry within 1e-9 of it) and checked again by tests/ganedge/test_web_latents.py, which
compares JavaScript latents with numpy's bit for bit.

Run: python scripts/make_ziggurat_tables.py
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import numpy.random

N = 256
R = 3.6541528853610087963519472518
V = 0.0049286732339746519
SCALE = 2.0**52
OUT = Path(__file__).resolve().parents[1] / "ganedge" / "web" / "static" / "ziggurat.mjs"


def density(x: float) -> float:
    return math.exp(-0.5 * x * x)


def recurrence() -> dict[str, list[float]]:
    """ki, wi, fi from the defining recurrence, in double precision (close, not exact)."""
    edges = [0.0] * N
    edges[0] = R
    for i in range(1, N - 1):
        edges[i] = math.sqrt(-2 * math.log(density(edges[i - 1]) + V / edges[i - 1]))
    edges.reverse()  # edges[0] = 0 (the top layer), edges[255] = R (where the tail starts)
    ki = [R * density(R) / V * SCALE] + [edges[i - 1] / edges[i] * SCALE for i in range(1, N)]
    wi = [V / density(R) / SCALE] + [edges[i] / SCALE for i in range(1, N)]
    return {"ki": ki, "wi": wi, "fi": [density(x) for x in edges]}


def close(found: list[float], expected: list[float], scale: float = 0.0) -> bool:
    return all(abs(f - e) <= 1e-9 * max(abs(e), scale) for f, e in zip(found, expected))


def scan(blob: bytes, fmt: str, expected: list[float], scale: float = 0.0) -> list:
    """The one 8-byte-aligned run of N values in ``blob`` that matches the recurrence."""
    hits = []
    for start in range(0, len(blob) - N * 8, 8):
        head = struct.unpack_from(fmt, blob, start)[0]
        if not close([float(head)], expected[:1], scale):
            continue
        values = list(struct.unpack_from(f"<{N}{fmt[1]}", blob, start))
        if close([float(v) for v in values], expected, scale):
            hits.append(values)
    if len(hits) != 1:
        raise SystemExit(f"expected one table near {expected[0]}, found {len(hits)}")
    return hits[0]


def main() -> None:
    library = next(p for p in Path(numpy.random.__file__).parent.glob("_generator*")
                   if p.suffix in (".so", ".pyd"))
    blob = library.read_bytes()
    want = recurrence()
    tables = {"ki": scan(blob, "<Q", want["ki"], SCALE), "wi": scan(blob, "<d", want["wi"]),
              "fi": scan(blob, "<d", want["fi"])}
    lines = [f"// numpy {np.__version__}'s ziggurat tables for the standard normal (NumPy, "
             "BSD-3-Clause), written by",
             "// scripts/make_ziggurat_tables.py from numpy's compiled generator: do not edit.",
             "// ki: fast-accept bounds (< 2^52, exact as numbers); wi: layer widths / 2^52; "
             "fi: f(x_i)."]
    lines.append("export const KI = [" + ", ".join(f"0x{v:013x}" for v in tables["ki"]) + "];")
    for name in ("wi", "fi"):
        lines.append(f"export const {name.upper()} = [" + ", ".join(repr(v) for v in tables[name])
                     + "];")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} from {library.name}")


if __name__ == "__main__":
    main()
