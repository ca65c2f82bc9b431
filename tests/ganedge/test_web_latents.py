"""The browser's latents (ganedge/web/static/latents.mjs, run here by Node.js) equal Python's bit
for bit: numpy's SeedSequence, PCG64 and ziggurat normal, ported; its seed parser reads seed
lists as ganedge.sampling.latents.parse_seeds does."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ganedge.errors import InputError
from ganedge.sampling.latents import latents_for_seeds, parse_seeds, truncate
from ganedge.web.site import package_dir

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")


def js_latents(seeds: list[int], dim: int, psi: float = 1.0) -> np.ndarray:
    """float32 (len(seeds), dim) latents computed by latents.mjs under Node.js."""
    module = (package_dir("static") / "latents.mjs").as_uri()
    script = (f"import {{ latentsForSeeds, truncate }} from '{module}';"
              "const [seeds, dim, psi] = JSON.parse(process.argv[1]);"
              "const z = truncate(latentsForSeeds(seeds.map(BigInt), dim), psi);"
              "process.stdout.write(Buffer.from(z.buffer, z.byteOffset, z.byteLength));")
    arg = json.dumps([[str(s) for s in seeds], dim, psi])
    out = subprocess.run([NODE, "--input-type=module", "-e", script, arg], capture_output=True,
                         check=True).stdout
    return np.frombuffer(out, np.float32).reshape(len(seeds), dim)


def test_thousand_seeds_bit_for_bit() -> None:
    seeds = list(range(1200))
    np.testing.assert_array_equal(js_latents(seeds, 128).view(np.uint32),
                                  latents_for_seeds(seeds, 128).view(np.uint32))


def test_large_seeds_and_long_latents_bit_for_bit() -> None:
    # seeds of two 32-bit words take another SeedSequence path; 2^63 - 1 is the largest seed
    seeds = [2**32 - 1, 2**32, 2**40 + 7, 2**62 + 3, 2**63 - 1]
    np.testing.assert_array_equal(js_latents(seeds, 512).view(np.uint32),
                                  latents_for_seeds(seeds, 512).view(np.uint32))


def test_truncation_matches_python() -> None:
    seeds = list(range(50))
    expected = truncate(latents_for_seeds(seeds, 64), 0.7)
    np.testing.assert_array_equal(js_latents(seeds, 64, 0.7).view(np.uint32),
                                  expected.view(np.uint32))


def js_parse(specs: list[str]) -> list[list[int] | None]:
    """parseSeeds of each spec under Node.js; None where it refuses the spec."""
    module = (package_dir("static") / "latents.mjs").as_uri()
    script = (f"import {{ parseSeeds }} from '{module}';"
              "const out = JSON.parse(process.argv[1]).map((spec) => {"
              "  try { return parseSeeds(spec); } catch (e) { return null; } });"
              "process.stdout.write(JSON.stringify(out));")
    out = subprocess.run([NODE, "--input-type=module", "-e", script, json.dumps(specs)],
                         capture_output=True, check=True, text=True).stdout
    return json.loads(out)


def py_parse(spec: str) -> list[int] | None:
    try:
        return parse_seeds(spec)
    except InputError:
        return None


part = st.tuples(st.integers(0, 50), st.integers(0, 5), st.booleans()).map(
    lambda t: f"{t[0]}-{t[0] + t[1]}" if t[2] else str(t[0]))
spec = st.lists(part, min_size=1, max_size=5).map(",".join)


@settings(max_examples=1, deadline=None)
@given(st.lists(spec, min_size=200, max_size=200))
def test_seed_lists_parse_as_in_python(specs: list[str]) -> None:
    refused = ["", "a", "3-1", "1,,2", "-1", "1-2-3", "0x10"]
    specs = specs + refused + [" 4 - 6 ".replace(" - ", "-"), "0-3, 7"]
    assert js_parse(specs) == [py_parse(s) for s in specs]
