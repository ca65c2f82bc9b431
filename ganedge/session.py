"""ONNX Runtime session creation: the session options every ganedge model runs with."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from ganedge import providers as prov
from ganedge.errors import InputError


def create_session(path: Path, providers: list[str], threads: int | None) -> ort.InferenceSession:
    """An ONNX Runtime session for ``path`` on ``providers``, with ganedge's session options."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        if threads < 1:
            raise InputError(f"--threads: must be at least 1 (got {threads})")
        options.intra_op_num_threads = threads
    if providers != [prov.CPU]:
        # A missing CUDA library is reported by our own warning, not by ORT's red log lines.
        options.log_severity_level = 4
        ort.set_default_logger_severity(4)
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # ORT raises its own untyped errors for unreadable files
        raise InputError(f"model: {str(path)!r} is not a loadable ONNX model ({exc}): "
                         "give a file written by `ganedge export`") from None
    finally:
        ort.set_default_logger_severity(2)
