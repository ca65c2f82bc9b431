"""The runtime on the CUDA provider against the CPU: fp32, uint8 pixels, CUDA graphs over changing
batch sizes, StyleGAN halves with stable shapes. TF32 is off (``use_tf32=False`` here and
NVIDIA_TF32_OVERRIDE=0, set by conftest before any CUDA session), so CUDA is held to fp32's
tolerance. Skipped where no CUDA session can run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import ganedge
from ganedge.runtime import providers as prov
from ganedge.runtime.envinfo import provider_usable
from ganedge.runtime.model import default_model_path
from ganedge.runtime.session import SessionSettings
from tests.e2e.stylegan_graph import NUM_WS, W_DIM, tiny_stylegan

CUDA_USABLE = prov.CUDA in ort.get_available_providers() and provider_usable(prov.CUDA)[0]
pytestmark = pytest.mark.skipif(not CUDA_USABLE, reason="no usable CUDA provider here")

FP32 = SessionSettings(use_tf32=False)  # parity: TF32 off (see docs/gpu.md)
ATOL = 1e-4  # CUDA vs CPU with TF32 off, on the [-1, 1] scale
SEQUENCE = (1, 3, 64, 1, 3)  # batch sizes that must each get their own captured graph


def _pair(path: Path, **settings: object) -> tuple[ganedge.GeneratorModel, ganedge.GeneratorModel]:
    cuda = ganedge.load(path, provider="cuda", strict_provider=True,
                        settings=SessionSettings(use_tf32=False, **settings))  # type: ignore[arg-type]
    return cuda, ganedge.load(path, provider="cpu")


def test_tf32_is_off_in_this_process() -> None:
    assert os.environ.get("NVIDIA_TF32_OVERRIDE") == "0"
    gen = ganedge.load(default_model_path(), provider="cuda", settings=FP32)
    assert gen.session.get_provider_options()[prov.CUDA]["use_tf32"] == "0"


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_fp32_matches_cpu_over_changing_batch_sizes(cuda_graph: bool) -> None:
    cuda, cpu = _pair(default_model_path(), cuda_graph=cuda_graph)
    assert cuda.runner.plan.cuda_graph == cuda_graph and cuda.io_binding
    for batch in SEQUENCE:
        z = cuda.latents(range(100 * batch, 101 * batch))
        np.testing.assert_allclose(cuda.generate(z), cpu.generate(z), atol=ATOL)
    if cuda_graph:
        ((_, runner),) = cuda.runner.bound_runners()
        assert runner.graph_ids == {1: 1, 4: 2, 64: 3}


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_uint8_pixels_from_the_device_match_cpu(cuda_graph: bool) -> None:
    cuda, cpu = _pair(default_model_path(), cuda_graph=cuda_graph)
    assert cuda.runner.plan.device_pixels
    for n, batch in ((70, 64), (5, 3), (64, 64)):
        got, want = cuda.sample(n, batch_size=batch), cpu.sample(n)
        # an fp32 difference of ~1e-6 may tip a value sitting on a rounding edge: one level
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
        assert (got == want).mean() > 0.999


def test_stylegan_halves_match_cpu_with_stable_shapes(tmp_path: Path) -> None:
    path = tiny_stylegan(tmp_path / "sg.onnx", num_classes=3)
    cuda, cpu = _pair(path)
    plan = cuda.runner.plan
    assert plan.split_stylegan and plan.pad_batches and plan.io_binding
    z = cpu.latents(range(8))
    for _ in range(3):  # repeated calls at one batch size
        np.testing.assert_allclose(cuda.generate(z, 1, 0.7), cpu.generate(z, 1, 0.7), atol=ATOL)
        ws = cuda.mapping(z, 2, 0.5)
        np.testing.assert_allclose(ws, cpu.mapping(z, 2, 0.5), atol=ATOL)
        np.testing.assert_allclose(cuda.synthesis(ws), cpu.synthesis(ws), atol=ATOL)
    frames = cuda.walk(range(4), frames=6, batch_size=8)  # 24 frames: 3 batches of 8
    assert np.abs(frames.astype(int) - cpu.walk(range(4), frames=6).astype(int)).max() <= 1
    sizes = {job: runner.batch_sizes for job, runner in cuda.runner.bound_runners()}
    assert sizes == {"mapping": (8,), "synthesis": (8,)}
    sessions = cuda.runner.sessions()
    assert sessions["mapping"] is not sessions["synthesis"]
    assert cuda.mapping(z, 0).shape == (8, NUM_WS, W_DIM)
