"""The browser's latents (ganedge/web/static/latents.mjs, run here by Node.js) equal Python's bit
for bit: numpy's SeedSequence, PCG64 and ziggurat normal, ported."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from ganedge.latents import latents_for_seeds, truncate
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
    # seeds of several 32-bit words take SeedSequence's other mixing paths
    seeds = [2**32 - 1, 2**32, 2**63 + 9, 2**64, 2**128 + 3, 10**45]
    np.testing.assert_array_equal(js_latents(seeds, 512).view(np.uint32),
                                  latents_for_seeds(seeds, 512).view(np.uint32))


def test_truncation_matches_python() -> None:
    seeds = list(range(50))
    expected = truncate(latents_for_seeds(seeds, 64), 0.7)
    np.testing.assert_array_equal(js_latents(seeds, 64, 0.7).view(np.uint32),
                                  expected.view(np.uint32))
