"""ONNX Runtime session creation: the session options every ganedge model runs with.

Why these defaults (measured in benchmarks/, see the README's Benchmarks section):
- intra-op threads: ONNX Runtime's own default, one per physical core (see ganedge.runtime.cores for
  what ``threads`` means everywhere), pinned to those cores.
  Asking for the same count explicitly loses the pinning, which ran 3-10% slower on the 2-core
  benchmark machine; an explicit ``threads`` is for sharing the machine with other work.
- one sequential inter-op stream: a generator is a chain of layers, nothing runs in parallel.
- memory pattern + CPU arena: the same shapes repeat on every call, so buffers are planned once.
- denormals kept (IEEE): ORT's ``session.set_denormal_as_zero`` turns on flush-to-zero for the
  whole host process (every thread's subnormals become 0.0 after load), so it is opt-in only.
- thread spinning on: waiting workers spin instead of sleeping, which saves the wake-up latency on
  every layer at batch 1; turn it off when ORT shares its cores with other busy work.

The CUDA settings (cuDNN search, TF32, CUDA graphs, IO binding, pixels on the device, padding,
StyleGAN sessions) and why their defaults are what they are: docs/gpu.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnxruntime as ort

from ganedge.budgets import check_threads
from ganedge.errors import ConfigError, InputError, one_line
from ganedge.runtime import providers as prov
from ganedge.runtime.cores import usable_cpus

CUDNN_SEARCHES = ("auto", "heuristic", "exhaustive", "default")
_CUDNN_OPTION = {"heuristic": "HEURISTIC", "exhaustive": "EXHAUSTIVE", "default": "DEFAULT"}

OPTIMIZATION_LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


@dataclass(frozen=True)
class SessionSettings:
    """How a session is tuned; ``SessionSettings()`` is ganedge's fast default."""

    optimization: str = "all"  # graph optimization level: disabled | basic | extended | all
    threads: int | None = None  # intra-op threads; None: ORT's default, one per physical core
    spinning: bool = True  # let idle intra-op workers spin (lower latency, burns CPU while idle)
    # flush denormal floats to zero: faster on some CPUs, but ORT sets it PROCESS-WIDE (the host
    # app's float arithmetic changes too), so never on by default
    denormals_as_zero: bool = False
    memory_pattern: bool = True  # plan buffers once for repeated input shapes
    cpu_arena: bool = True  # reuse freed CPU memory through ORT's arena allocator
    # capture the CUDA provider's launches once per batch bucket (own gpu_graph_id each) and
    # replay them; needs IO binding, pads batches to powers of two. Opt-in: not yet measured to
    # win on a GPU for every model (docs/gpu.md)
    cuda_graph: bool = False
    # cuDNN's convolution algorithm search. "auto": EXHAUSTIVE under CUDA graphs (each bucket's
    # shapes are searched once, at capture, and replayed after), else HEURISTIC: with cuDNN 9 ONNX
    # Runtime keeps one plan per Conv and plans again on every shape change, and an EXHAUSTIVE
    # search then costs 10-100x a run (436 vs 67 ms per StyleGAN generate measured on an H200)
    cudnn_search: str = "auto"
    # TF32 tensor-core math for fp32 convs and GEMMs on CUDA: faster, ~1e-3 off fp32 (parity
    # checks turn it off, with NVIDIA_TF32_OVERRIDE=0 in the checking process)
    use_tf32: bool = True
    io_binding: bool | None = None  # reused bound buffers; None: on where the model runs on CUDA
    # uint8 pixels and the NaN/Inf check computed by ONNX Runtime where the model runs (4x fewer
    # bytes copied back, no host scan); None: on CUDA. On the CPU numpy does the same ~6x faster
    device_pixels: bool | None = None
    # pad a call's short last batch up to its batch size, so a session sees one shape; None: on
    # CUDA (a new shape makes cuDNN plan again), off on the CPU (padding there is pure extra work)
    pad_batches: bool | None = None
    # a StyleGAN's mapping and synthesis each in a session of its own (one more weight copy), so
    # neither session alternates between a real and an empty batch; None: on CUDA
    split_stylegan: bool | None = None
    ort_defaults: bool = False  # ignore everything above: ONNX Runtime exactly as shipped

    def __post_init__(self) -> None:
        if self.optimization not in OPTIMIZATION_LEVELS:
            raise ConfigError(f"optimization: must be one of {list(OPTIMIZATION_LEVELS)} "
                              f"(got {self.optimization!r})")
        if self.cudnn_search not in CUDNN_SEARCHES:
            raise ConfigError(f"must be one of {list(CUDNN_SEARCHES)} (got "
                              f"{self.cudnn_search!r})", param="cudnn_search")
        for name in ("cuda_graph", "use_tf32", "io_binding", "device_pixels", "pad_batches",
                     "split_stylegan"):
            value = getattr(self, name)
            if not (isinstance(value, bool) or (value is None and name not in
                                                ("cuda_graph", "use_tf32"))):
                raise ConfigError(f"must be True or False (got {value!r})", param=name)
        check_threads(self.threads, usable_cpus())

    def cudnn_algo_search(self) -> str:
        """The ``cudnn_conv_algo_search`` value these settings give the CUDA provider."""
        if self.cudnn_search == "auto":
            return "EXHAUSTIVE" if self.cuda_graph else "HEURISTIC"
        return _CUDNN_OPTION[self.cudnn_search]


ORT_DEFAULTS = SessionSettings(ort_defaults=True)
"""Plain ONNX Runtime, as a user who never tuned anything gets it: the benchmark's baseline."""


def session_options(settings: SessionSettings) -> ort.SessionOptions:
    """The ``ort.SessionOptions`` that ``settings`` describe."""
    options = ort.SessionOptions()
    if settings.ort_defaults:
        return options
    options.graph_optimization_level = OPTIMIZATION_LEVELS[settings.optimization]
    if settings.threads is not None:
        options.intra_op_num_threads = settings.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_mem_pattern = settings.memory_pattern
    options.enable_cpu_mem_arena = settings.cpu_arena
    options.add_session_config_entry("session.intra_op.allow_spinning",
                                     "1" if settings.spinning else "0")
    options.add_session_config_entry("session.set_denormal_as_zero",
                                     "1" if settings.denormals_as_zero else "0")
    return options


def cuda_options(settings: SessionSettings) -> dict[str, str]:
    """The CUDA provider's options that ``settings`` describe (ONNX Runtime's names)."""
    options = {"cudnn_conv_algo_search": settings.cudnn_algo_search(),
               "use_tf32": "1" if settings.use_tf32 else "0"}
    if settings.cuda_graph:
        options["enable_cuda_graph"] = "1"
    return options


def provider_entries(providers: list[str], settings: SessionSettings) -> list[Any]:
    """Providers with their options: the CUDA provider gets :func:`cuda_options`."""
    if settings.ort_defaults:
        return list(providers)
    return [(p, cuda_options(settings)) if p == prov.CUDA else p for p in providers]


def create_session(path: Path | bytes, providers: list[str], threads: int | None,
                   settings: SessionSettings | None = None) -> ort.InferenceSession:
    """An ONNX Runtime session for ``path`` (or a serialized model) on ``providers``, with
    ganedge's session options.

    ``threads`` overrides ``settings.threads`` when given (the API's ``threads``). ORT's global
    logger is left as the host set it (ORT has no getter to restore it from); the session's own
    log level is quiet, and a provider that cannot start is reported by ganedge's own warning.
    """
    settings = settings or SessionSettings()
    options = session_options(settings)
    if threads is not None:
        options.intra_op_num_threads = threads
    # this session's own log only (the host's global ORT logger is left alone): errors on the
    # CPU, which ganedge also raises; nothing when a GPU provider may fail to start, which
    # ganedge reports as its own warning
    options.log_severity_level = 3 if providers == [prov.CPU] else 4
    try:
        return ort.InferenceSession(path if isinstance(path, bytes) else str(path),
                                    sess_options=options,
                                    providers=provider_entries(providers, settings))
    except Exception as exc:  # ORT raises its own untyped errors for unreadable files
        name = "the serialized model" if isinstance(path, bytes) else repr(str(path))
        raise InputError(f"{name} is not a loadable ONNX model ({one_line(exc, 160)}): "
                         "give a file written by `ganedge export`", param="path") from None
