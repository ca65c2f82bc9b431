"""The ``config.pbtxt`` of each model in a Triton repository, built from a model's contract.

Every value comes from the contract (names, dims, data types) or from :class:`TritonSettings`;
nothing is read from Triton's auto-complete, whose ONNX Runtime backend would pick a
``max_batch_size`` of 4 by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ganedge import budgets
from ganedge.budgets import check_int
from ganedge.contract import ModelContract
from ganedge.errors import InputError
from ganedge.triton.pbtxt import Enum, to_text

INSTANCE_KINDS = {"gpu": "KIND_GPU", "cpu": "KIND_CPU"}
MAX_INSTANCES = 64  # model copies per device: more only splits the same GPU finer
MAX_QUEUE_DELAY_US = 10_000_000  # a batcher waiting 10 s for company is a mistake
MAX_PREFERRED = 16  # preferred batch sizes: a few powers of two is the use
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # a folder name on every file system
# ONNX Runtime's CUDA provider, OrtCudnnConvAlgoSearch: 0 EXHAUSTIVE, 1 HEURISTIC, 2 DEFAULT.
# The dynamic batcher hands a model every batch size up to max_batch_size; EXHAUSTIVE would
# re-benchmark (cuDNN 8) or re-plan (cuDNN 9) each Conv on every size change, HEURISTIC picks
# in milliseconds and ran as fast or faster in the measurements users reported
CUDNN_HEURISTIC = "1"
DATA_TYPES = {"float32": "TYPE_FP32", "uint8": "TYPE_UINT8", "int64": "TYPE_INT64"}


@dataclass(frozen=True)
class TritonSettings:
    """How Triton batches and places the models of a repository."""

    max_batch_size: int = 64  # largest batch the dynamic batcher forms (and a client may send)
    instance_kind: str = "gpu"  # "gpu" (one copy per GPU) or "cpu"
    instances: int = 1  # model copies per GPU (or on the CPU) run side by side
    max_queue_delay_us: int = 2000  # how long a request may wait for others to batch with
    # batch sizes the batcher tries to form first (none: Triton's advice for ONNX Runtime, which
    # runs any size; powers of two keep the number of shapes cuDNN plans for small)
    preferred_batch_sizes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check_int(self.max_batch_size, "max_batch_size", 1, budgets.MAX_BATCH)
        check_int(self.instances, "instances", 1, MAX_INSTANCES)
        check_int(self.max_queue_delay_us, "max_queue_delay_us", 0, MAX_QUEUE_DELAY_US)
        sizes = tuple(self.preferred_batch_sizes)
        if len(sizes) > MAX_PREFERRED:
            raise InputError(f"at most {MAX_PREFERRED} sizes (got {len(sizes)})",
                             param="preferred_batch_sizes")
        for size in sizes:
            if check_int(size, "preferred_batch_sizes", 1) > self.max_batch_size:
                raise InputError(f"{size} is over `max_batch_size` ({self.max_batch_size}): the "
                                 "batcher never forms it", param="preferred_batch_sizes")
        if list(sizes) != sorted(set(sizes)):
            raise InputError(f"must rise without repeats (got {list(sizes)})",
                             param="preferred_batch_sizes")
        object.__setattr__(self, "preferred_batch_sizes", sizes)
        if self.instance_kind not in INSTANCE_KINDS:
            raise InputError(f"must be one of {list(INSTANCE_KINDS)} (got "
                             f"{self.instance_kind!r})", param="instance_kind")


def check_name(name: str) -> str:
    """``name`` if Triton can use it as a model (folder) name, else InputError."""
    if not NAME.match(name):
        raise InputError(f"{name[:40]!r} is not a model name: use 1-100 letters, digits, '_', "
                         "'.' or '-', starting with a letter or digit", param="name")
    return name


@dataclass(frozen=True)
class Tensor:
    """One model input or output as Triton declares it: dims without the batch axis."""

    name: str
    dtype: str  # a key of DATA_TYPES
    dims: tuple[int, ...]
    per_row: bool = False  # a (B,) tensor: dims [1] in Triton, reshaped to () for the model

    def declare(self, batch: int | None, *, reshape: bool = True) -> dict[str, Any]:
        """The ``input``/``output`` entry; ``batch`` is a fixed graph batch (None: batched).
        ``reshape`` False leaves a per-row tensor (B, 1), as an ensemble must pass it on."""
        entry: dict[str, Any] = {"name": self.name, "data_type": Enum(DATA_TYPES[self.dtype])}
        if batch is not None:  # no batching: dims are the whole shape
            entry["dims"] = [batch, *self.dims] if not self.per_row else [batch]
        elif self.per_row:
            entry["dims"] = [1]
            if reshape:
                entry["reshape"] = {"shape": []}
        else:
            entry["dims"] = list(self.dims)
        return entry


def image_dims(contract: ModelContract) -> tuple[int, ...]:
    """(C, H, W) for NCHW output, (H, W, C) for NHWC."""
    c = contract
    return ((c.channels, c.height, c.width) if c.output_layout == "NCHW"
            else (c.height, c.width, c.channels))


def z_inputs(contract: ModelContract) -> list[Tensor]:
    """z, and the class label of a conditional model."""
    tensors = [Tensor(contract.input_name, "float32", (contract.latent_dim,))]
    if contract.conditional:
        tensors.append(Tensor(contract.label_input_name, "int64", (), per_row=True))
    return tensors


def onnx_config(name: str, inputs: list[Tensor], outputs: list[Tensor],
                settings: TritonSettings, *, fixed_batch: int | None = None,
                parameters: dict[str, str] | None = None) -> str:
    """The config of one ONNX Runtime model: batching, instances, cuDNN search, warm-up."""
    batched = fixed_batch is None
    config: dict[str, Any] = {
        "name": name,
        "platform": "onnxruntime_onnx",
        "max_batch_size": settings.max_batch_size if batched else 0,
        "input": [t.declare(fixed_batch) for t in inputs],
        "output": [t.declare(fixed_batch) for t in outputs],
    }
    if batched:
        # no preferred_batch_size unless asked: Triton's batcher guide keeps those for models
        # that run some sizes much better than others (TensorRT profiles)
        batching: dict[str, Any] = {"max_queue_delay_microseconds": settings.max_queue_delay_us}
        if settings.preferred_batch_sizes:
            batching["preferred_batch_size"] = list(settings.preferred_batch_sizes)
        config["dynamic_batching"] = batching
    config["instance_group"] = [{"count": settings.instances,
                                 "kind": Enum(INSTANCE_KINDS[settings.instance_kind])}]
    entries = dict(parameters or {})
    if settings.instance_kind == "gpu":
        entries["cudnn_conv_algo_search"] = CUDNN_HEURISTIC
    if entries:
        config["parameters"] = [{"key": k, "value": {"string_value": v}}
                                for k, v in entries.items()]
    config["model_warmup"] = [_warmup(inputs, settings.max_batch_size if batched else 1,
                                      fixed_batch)]
    return to_text(config)


def _warmup(inputs: list[Tensor], batch: int, fixed_batch: int | None) -> dict[str, Any]:
    """One request of zeros at the largest batch: the model is reported ready only after it
    ran (CUDA context, kernels, the biggest buffers). Zeros, not random data: a random int64
    label would be out of the model's class range."""
    return {"name": f"zeros_batch_{batch}", "batch_size": batch,
            "inputs": [{"key": t.name, "value": {"data_type": Enum(DATA_TYPES[t.dtype]),
                                                  "dims": t.declare(fixed_batch)["dims"],
                                                  "zero_data": True}} for t in inputs]}


@dataclass(frozen=True)
class Step:
    """One model of an ensemble: its name and {its tensor: the ensemble's tensor}."""

    model: str
    inputs: dict[str, str]
    outputs: dict[str, str]


def ensemble_config(name: str, inputs: list[Tensor], outputs: list[Tensor],
                    steps: list[Step], settings: TritonSettings,
                    parameters: dict[str, str]) -> str:
    """The config of an ensemble that runs ``steps`` in order (each a batched ONNX model)."""
    config: dict[str, Any] = {
        "name": name,
        "platform": "ensemble",
        "max_batch_size": settings.max_batch_size,
        # Triton checks an ensemble tensor's shape against each step's input dims, taking the
        # ensemble's reshape when it has one: [1] must meet [1], so no reshape here
        "input": [t.declare(None, reshape=False) for t in inputs],
        "output": [t.declare(None, reshape=False) for t in outputs],
        "ensemble_scheduling": {"step": [
            {"model_name": s.model, "model_version": -1,
             "input_map": [{"key": k, "value": v} for k, v in s.inputs.items()],
             "output_map": [{"key": k, "value": v} for k, v in s.outputs.items()]}
            for s in steps]},
        "parameters": [{"key": k, "value": {"string_value": v}} for k, v in parameters.items()],
    }
    return to_text(config)
