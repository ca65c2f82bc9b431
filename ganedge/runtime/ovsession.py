"""OpenVINO as an optional backend: the part of an ONNX Runtime session that the runtime uses,
served by OpenVINO's CPU plugin reading the very same .onnx file.

Why: on some CPUs OpenVINO's kernels beat ONNX Runtime's where generators spend their time
(stride-2 ConvTranspose at large batches, int8 QDQ graphs through VNNI); docs/benchmarks.md has
the measured figures. ``ganedge.load(path, provider="openvino")`` picks it; it is
installed as an extra (``pip install 'ganedge[openvino]'``) and imported only when asked for.

Choices, each for a reason:
- fp32 stays fp32 (``INFERENCE_PRECISION_HINT`` f32): OpenVINO otherwise runs bf16 on CPUs with
  AMX or AVX512-BF16, which silently changes the images.
- one stream with the latency hint: one call at a time on all threads, like ONNX Runtime's
  intra-op pool; ``threads`` caps the threads as it does there.
- one compiled model per input shape (a few at most): static shapes ran faster than one dynamic
  compilation (DCGAN-64 fp32 on a 2-core AMD EPYC: 2.2 vs 2.8 ms at batch 1, 92 vs 99 ms at 64);
  one infer request per thread and shape, since requests are not thread-safe.
- settings go to ``compile_model`` only, never to a Core's defaults, so a host process that uses
  OpenVINO itself keeps its own configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import ContractError, InputError, MissingExtraError, one_line
from ganedge.runtime.providers import OPENVINO

OPENVINO_EXTRA_HINT = "pip install 'ganedge[openvino]'"
MAX_SHAPES = 4  # compiled input shapes kept per model (a full batch and a remainder are typical)

# OpenVINO element types by name → the ONNX Runtime type strings the contract check speaks
_TYPES = {name: f"tensor({onnx})" for name, onnx in (
    ("f32", "float"), ("f64", "double"), ("f16", "float16"), ("bf16", "bfloat16"),
    ("u8", "uint8"), ("i8", "int8"), ("u16", "uint16"), ("i16", "int16"), ("u32", "uint32"),
    ("i32", "int32"), ("u64", "uint64"), ("i64", "int64"), ("boolean", "bool"))}


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output as ``onnxruntime.NodeArg`` describes it (None: dynamic dim)."""

    name: str
    type: str
    shape: list[int | None]


@dataclass(frozen=True)
class ModelMeta:
    """The ONNX model's metadata_props, as ``onnxruntime.ModelMetadata`` gives them."""

    custom_metadata_map: dict[str, str]
    producer_name: str = ""


@dataclass
class _Compiled:
    model: Any  # openvino.CompiledModel for one input shape
    local: threading.local = field(default_factory=threading.local)  # .request: this thread's


def openvino_available() -> bool:
    """Whether the openvino package can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


class OpenVinoSession:
    """An ONNX generator compiled by OpenVINO for the CPU, callable like an ORT session."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        try:
            import openvino as ov
        except ImportError:
            raise MissingExtraError("'openvino' needs the openvino package, which is not "
                                    f"installed: {OPENVINO_EXTRA_HINT} brings it (or use 'cpu')",
                                    param="provider") from None
        if path.suffix.lower() == ".ort":
            raise InputError(f"OpenVINO reads .onnx files, not ORT format ({path.name}): give "
                             "the .onnx it was converted from", param="provider")
        from openvino.frontend import FrontEndManager

        self._core = ov.Core()
        # ONNX's reader only: Core.read_model tries every frontend on a file that is not ONNX,
        # and TensorFlow's logs its parse errors straight to the host's stderr
        onnx_frontend = FrontEndManager().load_by_framework("onnx")
        try:
            self._model = onnx_frontend.convert(onnx_frontend.load(str(path)))
        except Exception as exc:  # OpenVINO raises its own untyped errors for unreadable files
            raise InputError(f"{str(path)!r} is not an ONNX model OpenVINO can read "
                             f"({one_line(exc, 160)}): give a file written by `ganedge export`",
                             param="path") from None
        self._config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY",
                                        "INFERENCE_PRECISION_HINT": "f32"}
        if threads is not None:
            self._config["INFERENCE_NUM_THREADS"] = threads
        self._inputs = [_info(port) for port in self._model.inputs]
        self._outputs = [_info(port) for port in self._model.outputs]
        self._compiled: dict[tuple[tuple[str, tuple[int, ...]], ...], _Compiled] = {}
        self._lock = threading.Lock()

    def get_inputs(self) -> list[TensorInfo]:
        return list(self._inputs)

    def get_outputs(self) -> list[TensorInfo]:
        return list(self._outputs)

    def get_providers(self) -> list[str]:
        return [OPENVINO]

    def get_modelmeta(self) -> ModelMeta:
        if not self._model.has_rt_info(["framework"]):
            return ModelMeta({})
        framework = self._model.get_rt_info()["framework"]
        return ModelMeta({key: framework[key].astype(str) for key in framework})

    def compiled_property(self, name: str) -> Any:
        """A property of the model as compiled, e.g. INFERENCE_PRECISION_HINT (for checks)."""
        any_shape = next(iter(self._compiled.values()), None)
        compiled = any_shape.model if any_shape else self._core.compile_model(
            self._model, "CPU", self._config)
        return compiled.get_property(name)

    def run(self, output_names: Sequence[str] | None, feeds: Mapping[str, np.ndarray],
            run_options: object = None) -> list[np.ndarray]:
        """``output_names`` (None: all) for ``feeds``, as ``InferenceSession.run`` returns them:
        fresh arrays the caller may keep. ``run_options`` is accepted for the same signature."""
        names = [o.name for o in self._outputs] if output_names is None else list(output_names)
        request = self._request(tuple((name, tuple(a.shape)) for name, a in sorted(feeds.items())))
        request.infer({name: np.ascontiguousarray(a) for name, a in feeds.items()},
                      share_inputs=True)
        return [np.array(request.get_tensor(name).data) for name in names]

    def _request(self, key: tuple[tuple[str, tuple[int, ...]], ...]) -> Any:
        with self._lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                if len(self._compiled) >= MAX_SHAPES:
                    self._compiled.clear()
                compiled = self._compiled[key] = _Compiled(self._compile(dict(key)))
        request = getattr(compiled.local, "request", None)
        if request is None:
            request = compiled.local.request = compiled.model.create_infer_request()
        return request

    def _compile(self, shapes: dict[str, tuple[int, ...]]) -> Any:
        model = self._model.clone()
        try:
            model.reshape({name: list(shape) for name, shape in shapes.items()})
            return self._core.compile_model(model, "CPU", self._config)
        except Exception as exc:  # OpenVINO's own errors: the graph cannot take these shapes
            raise ContractError(f"model: the graph failed to run (OpenVINO cannot compile it for "
                                f"inputs {shapes}: {one_line(exc, 160)}): re-export it, or use "
                                "provider 'cpu'") from None


def _info(port: Any) -> TensorInfo:
    type_name = port.get_element_type().get_type_name()
    shape = [d.get_length() if d.is_static else None for d in port.get_partial_shape()]
    return TensorInfo(port.get_any_name(), _TYPES.get(type_name, f"tensor({type_name})"), shape)
