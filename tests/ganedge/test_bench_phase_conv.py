"""The suite's phase-conv rewrite computes what the ConvTranspose graph computes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx

from benchmarks.phase_conv import rewrite
from ganedge import providers as prov
from ganedge.latents import latents_for_seeds
from ganedge.session import create_session


def test_rewritten_digits_generator_matches(exported_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "phase.onnx"
    # the three stride-2 layers are rewritten; the 1×1 → 4×4 stem is not a stride-2 layer
    assert rewrite(exported_model, out) == 3
    ops = Counter(n.op_type for n in onnx.load(str(out)).graph.node)
    assert (ops["ConvTranspose"], ops["Conv"], ops["DepthToSpace"], ops["BatchNormalization"]) == (1, 12, 3, 1)
    z = latents_for_seeds(range(3), 64)
    (expected,) = create_session(exported_model, [prov.CPU], None).run(["images"], {"z": z})
    (got,) = create_session(out, [prov.CPU], None).run(["images"], {"z": z})
    assert got.shape == expected.shape == (3, 1, 32, 32)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert onnx.load(str(out)).metadata_props == onnx.load(str(exported_model)).metadata_props
