"""ONNX Runtime execution providers: what the user asks for, and what a session really runs on.

ONNX Runtime quietly falls back to the CPU when a GPU provider cannot start (no GPU, missing or
mismatched CUDA/cuDNN libraries, both onnxruntime packages installed). ganedge compares what it
asked for with what the session reports, and warns once with the likely cause, or fails with
``strict=True``.
"""

from __future__ import annotations

import ctypes
import sys
import warnings

import onnxruntime as ort

from ganedge.errors import InputError, ProviderError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
# not an ONNX Runtime provider: OpenVINO itself (ganedge.runtime.ovsession)
OPENVINO = "OpenVINO-CPU"
PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt", "openvino")
ORT_PACKAGES = ("onnxruntime", "onnxruntime-gpu")

_REQUESTS = {
    "cpu": [CPU],
    "cuda": [CUDA, CPU],
    "tensorrt": [TENSORRT, CUDA, CPU],
    "openvino": [OPENVINO],
}
_DRIVER_LIBRARIES = ("libcuda.so.1", "libcuda.so", "nvcuda.dll")


def requested_providers(provider: str) -> list[str]:
    """The provider list to hand ONNX Runtime for a user choice, fastest first.

    "auto" asks for CUDA only when this onnxruntime build has it and an NVIDIA driver is present,
    so CPU-only machines with onnxruntime-gpu installed neither try nor warn.
    """
    if provider not in PROVIDER_CHOICES:
        raise InputError(f"must be one of {list(PROVIDER_CHOICES)} (got {provider!r})",
                         param="provider")
    if provider == "auto":
        cuda_possible = CUDA in ort.get_available_providers() and gpu_driver_present()
        return [CUDA, CPU] if cuda_possible else [CPU]
    return list(_REQUESTS[provider])


def ort_providers(provider: str) -> list[str]:
    """The ONNX Runtime providers for ganedge's own helper graphs (e.g. eval's feature network)
    when the user chose ``provider`` for the model: OpenVINO runs models only, so its choice
    means ONNX Runtime's CPU provider here."""
    requested = requested_providers(provider)
    return [CPU] if requested == [OPENVINO] else requested


def gpu_driver_present() -> bool:
    """Whether the NVIDIA driver library (libcuda / nvcuda.dll) can be loaded."""
    return any(loadable(name) for name in _DRIVER_LIBRARIES)


def check_in_use(provider: str, requested: list[str], in_use: list[str], strict: bool) -> None:
    """Warn (once per message) or, with ``strict``, raise ProviderError when the session does not
    run on the provider asked for."""
    wanted = requested[0]
    if wanted == CPU or wanted in in_use:
        return
    message = f"asked for {wanted} but the session runs on {in_use[0]}: {fallback_cause(wanted)}"
    if strict:
        raise ProviderError(f"{provider}: {message}", param="provider")
    # the default warning filter shows one message once per call site, i.e. once per process
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def installed_ort_packages() -> list[str]:
    """Which of the onnxruntime packages are installed (normally exactly one)."""
    import importlib.metadata as md  # slow to import, and only needed to explain a fallback

    installed = []
    for name in ORT_PACKAGES:
        try:
            md.version(name)
        except md.PackageNotFoundError:
            continue
        installed.append(name)
    return installed


def fallback_cause(wanted: str = CUDA) -> str:
    """The likely reason a GPU provider was asked for but not used, with the fix."""
    if set(ORT_PACKAGES) <= set(installed_ort_packages()):
        return (
            "both onnxruntime and onnxruntime-gpu are installed and shadow each other: "
            "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu"
        )
    if wanted not in ort.get_available_providers():
        return f"this onnxruntime build has no {wanted}: pip install onnxruntime-gpu"
    if not gpu_driver_present():
        return "no NVIDIA driver found (libcuda): this machine has no usable GPU"
    if wanted == TENSORRT:
        return "TensorRT libraries (libnvinfer) are missing or mismatched: see `ganedge env`"
    return (
        "CUDA/cuDNN libraries are missing or mismatched (see `ganedge env`); "
        "pip install 'onnxruntime-gpu[cuda,cudnn]' brings matching ones"
    )


def loadable(name: str) -> bool:
    """Whether the dynamic loader can open the shared library ``name``."""
    if sys.platform != "win32" and name.endswith(".dll"):
        return False
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True
