"""CUDA path: IO binding and CUDA graphs match CPU (skipped where no session runs on CUDA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ganedge import providers as prov
from ganedge.bench.candidates import default_providers
from ganedge.iobinding import BoundRunner
from ganedge.latents import latents_for_seeds
from ganedge.session import SessionSettings, create_session


@pytest.fixture()
def cuda_model(exported_model: Path) -> Path:
    if "cuda" not in default_providers(exported_model):
        pytest.skip("no GPU: no ONNX Runtime session runs on CUDA here")
    return exported_model


@pytest.mark.slow
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_cuda_bound_runner_matches_cpu(cuda_model: Path, cuda_graph: bool) -> None:
    z = latents_for_seeds(range(8), 64)
    (expected,) = create_session(cuda_model, [prov.CPU], None).run(["images"], {"z": z})
    session = create_session(cuda_model, [prov.CUDA], None, SessionSettings(cuda_graph=cuda_graph))
    assert session.get_providers()[0] == prov.CUDA
    runner = BoundRunner(session, "z", "images", device="cuda")
    for _ in range(3):  # capture, then replay
        np.testing.assert_allclose(runner(z), expected, atol=1e-3)
