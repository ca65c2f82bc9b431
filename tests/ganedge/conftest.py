"""Tiny generators built with onnx.helper (see graphs.py), made once per test session, and a
CliRunner-based ``invoke`` for in-process CLI tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ganedge.cli import app
from tests.ganedge.graphs import tiny_generator

# CUDA parity in these tests assumes plain fp32: cuDNN's frontend ignores the provider's use_tf32,
# and the variable is read once per process, before the first CUDA session (docs/gpu.md)
os.environ.setdefault("NVIDIA_TF32_OVERRIDE", "0")


def invoke(*args: str) -> Result:
    """Run the ganedge CLI in-process (typer's CliRunner); stdout and stderr stay apart."""
    return CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"}).invoke(app, list(args))


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """float (NCHW), uint8 (NHWC tail, same weights), conditional RGB, and contract-less models."""
    d = tmp_path_factory.mktemp("models")
    return {
        "float": tiny_generator(d / "float.onnx"),
        "uint8": tiny_generator(d / "uint8.onnx", output_dtype="uint8"),
        "cond": tiny_generator(d / "cond.onnx", num_classes=3, channels=3, size=6),
        "bare": tiny_generator(d / "bare.onnx", with_contract=False),
    }
