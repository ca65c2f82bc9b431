"""ONNX Runtime execution providers: what the user asks for, and what a session really runs on."""

from __future__ import annotations

import onnxruntime as ort

from ganedge.errors import InputError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt")

_REQUESTS = {
    "cpu": [CPU],
    "cuda": [CUDA, CPU],
    "tensorrt": [TENSORRT, CUDA, CPU],
}


def requested_providers(provider: str) -> list[str]:
    """The provider list to hand ONNX Runtime for a user choice, fastest first."""
    if provider not in PROVIDER_CHOICES:
        raise InputError(f"--provider: must be one of {list(PROVIDER_CHOICES)} (got {provider!r})")
    if provider == "auto":
        return [CUDA, CPU] if CUDA in ort.get_available_providers() else [CPU]
    return list(_REQUESTS[provider])


def fallback_cause() -> str:
    """The likely reason a GPU provider was asked for but not used, for the one-time warning."""
    import importlib.metadata as md

    installed = {d.metadata["Name"].lower() for d in md.distributions() if d.metadata["Name"]}
    if {"onnxruntime", "onnxruntime-gpu"} <= installed:
        return (
            "both onnxruntime and onnxruntime-gpu are installed and shadow each other: "
            "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
        )
    if CUDA not in ort.get_available_providers():
        return "this onnxruntime build has no CUDA provider: pip install onnxruntime-gpu"
    return (
        "CUDA/cuDNN libraries are missing or mismatched (see `ganedge env`); "
        "pip install 'onnxruntime-gpu[cuda,cudnn]' brings matching ones"
    )
