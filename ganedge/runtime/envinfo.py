"""What this environment can run: package versions, execution providers that really work, the
CUDA/cuDNN/TensorRT libraries the dynamic loader finds, and thread settings (``ganedge env``).

A provider counts as usable only when a tiny session (y = x + x) starts on it and returns the
right answer: ``onnxruntime.get_available_providers()`` lists what the build contains, not what
this machine can run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import io
import os
import platform
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ganedge.runtime import providers as prov
from ganedge.runtime.cores import physical_cores, usable_cpus

# (what, sonames tried in order): CUDA 12 and 13 builds of onnxruntime-gpu need different majors
CUDA_LIBRARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("driver (libcuda)", ("libcuda.so.1",)),
    ("CUDA runtime", ("libcudart.so.13", "libcudart.so.12")),
    ("cuBLAS", ("libcublas.so.13", "libcublas.so.12")),
    ("cuBLASLt", ("libcublasLt.so.13", "libcublasLt.so.12")),
    ("cuFFT", ("libcufft.so.12", "libcufft.so.11")),
    ("cuRAND", ("libcurand.so.10",)),
    ("cuDNN", ("libcudnn.so.9",)),
    ("TensorRT", ("libnvinfer.so.10",)),
)


def probe_model_path() -> Path:
    """The 76-byte probe model bundled with ganedge."""
    return Path(str(resources.files("ganedge").joinpath("models", "probe.onnx")))


def provider_usable(provider: str) -> tuple[bool, str]:
    """(usable, why not) for one provider: start a probe session on it and run it once."""
    chain = {prov.CPU: [prov.CPU], prov.TENSORRT: [prov.TENSORRT, prov.CUDA, prov.CPU]}
    try:
        session = quiet_session(probe_model_path(), chain.get(provider, [provider, prov.CPU]))
    except Exception as exc:  # ORT raises its own untyped errors when a provider cannot start
        return False, f"session failed: {str(exc).splitlines()[0]}"
    if session.get_providers()[0] != provider:
        return False, prov.fallback_cause(provider)
    (y,) = session.run(None, {"x": np.array([1.5], np.float32)})
    return (True, "") if float(y[0]) == 3.0 else (False, f"probe gave {float(y[0])}, not 3.0")


def quiet_session(path: Path, providers: list[str]) -> ort.InferenceSession:
    """A session whose provider failures are reported by us, not as ORT's log lines and the
    "EP Error" banner its Python wrapper prints to stdout."""
    options = ort.SessionOptions()
    # the session's own log only: ORT's global logger belongs to the host process
    options.log_severity_level = 4
    with contextlib.redirect_stdout(io.StringIO()):
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def find_library(sonames: tuple[str, ...]) -> str | None:
    """The first soname the dynamic loader can open, or None."""
    return next((name for name in sonames if prov.loadable(name)), None)


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def environment_report() -> dict[str, Any]:
    """Everything ``ganedge env`` prints, as plain data."""
    from ganedge import __version__

    packages = prov.installed_ort_packages()
    available = ort.get_available_providers()
    usable = {p: provider_usable(p) for p in available}
    return {
        "versions": {
            "ganedge": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__,
            "onnxruntime": ort.__version__,
            **{f"package {p}": package_version(p) for p in packages},
            "openvino (provider 'openvino')": package_version("openvino"),
        },
        "onnxruntime_packages": {
            "installed": packages,
            "conflict": set(prov.ORT_PACKAGES) <= set(packages),
            "build_device": ort.get_device(),
        },
        "providers": {
            "available_in_build": available,
            "usable": [p for p, (ok, _) in usable.items() if ok],
            "not_usable": {p: why for p, (ok, why) in usable.items() if not ok},
        },
        "libraries": _libraries(),
        "threads": {
            "cores_usable": usable_cpus(), "cpu_count": os.cpu_count(),
            "ganedge_default_intra_op": physical_cores(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
    }


def _libraries() -> dict[str, str]:
    if not sys.platform.startswith("linux"):
        return {"note": "library probing is implemented for Linux only"}
    return {what: find_library(names) or f"missing (tried {', '.join(names)})"
            for what, names in CUDA_LIBRARIES}
