"""A model's contract checked against the graph it describes, at load.

The contract (ganedge.contract) says what the runtime feeds and reads; the graph's declared inputs
and outputs say what ONNX Runtime will accept. Where they disagree (names, element types, ranks,
static dimensions, a label input without classes) the file is refused with one line naming both
values, instead of failing later inside ONNX Runtime or numpy. A static batch dimension is
returned so the runtime can run exactly that many rows per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ganedge.budgets import MAX_BATCH
from ganedge.contract import ModelContract
from ganedge.errors import ContractError

ORT_TYPES = {"float32": "tensor(float)", "uint8": "tensor(uint8)"}
Dims = list[int | None]  # expected dims; None where any size is fine (the batch axis)


class TensorInfo(Protocol):
    """What ``onnxruntime.NodeArg`` tells about a graph input or output."""

    name: str
    type: str
    shape: Sequence[int | str | None] | None


def check_graph(contract: ModelContract, inputs: Sequence[TensorInfo],
                outputs: Sequence[TensorInfo]) -> int | None:
    """Raise ContractError where ``contract`` and the graph disagree; return the graph's static
    batch size, or None when its batch axis is symbolic."""
    wanted = expected_tensors(contract)
    declared = {"input": list(inputs), "output": list(outputs)}
    found = []
    for kind, tensors in wanted.items():
        for name, (type_, dims) in tensors.items():
            tensor = next((t for t in declared[kind] if t.name == name), None)
            _check_tensor(kind, name, tensor, type_, dims, [t.name for t in declared[kind]])
            found.append(tensor)
    extra = sorted({t.name for t in inputs} - set(wanted["input"]))
    if extra:
        hint = ("" if contract.conditional else
                ": a class-label input needs num_classes > 0 in the contract")
        raise ContractError(f"model: the graph takes input(s) {extra} that the contract does not "
                            f"feed{hint}: re-export the model")
    return _static_batch(found)


def expected_tensors(contract: ModelContract) -> dict[str, dict[str, tuple[str, Dims]]]:
    """{"input"/"output": {name: (ORT type, dims)}} that the contract promises."""
    c = contract
    inputs = {c.input_name: ("tensor(float)", [None, c.latent_dim])}
    if c.conditional:
        inputs[c.label_input_name] = ("tensor(int64)", [None])
    image = [c.channels, c.height, c.width] if c.output_layout == "NCHW" \
        else [c.height, c.width, c.channels]
    outputs = {c.output_name: (ORT_TYPES[c.output_dtype], [None, *image])}
    if c.is_stylegan:  # the mapping's ws out, the synthesis' ws in (see ModelContract)
        ws: tuple[str, Dims] = ("tensor(float)", [None, c.num_ws, c.w_dim])
        inputs[c.ws_input_name] = ws
        outputs[c.ws_output_name] = ws
    return {"input": inputs, "output": outputs}


def _check_tensor(kind: str, name: str, tensor: TensorInfo | None, type_: str, dims: Dims,
                  names: list[str]) -> None:
    if tensor is None:
        raise ContractError(f"model: the contract names {kind} {name!r}, the graph's {kind}s are "
                            f"{names}: re-export the model")
    if tensor.type != type_:
        raise ContractError(f"model: {kind} {name!r} is {tensor.type} in the graph, {type_} in "
                            "the contract: re-export the model")
    shape = tensor.shape
    if shape is None:  # rank unknown: the output is checked when it arrives
        return
    if len(shape) != len(dims):
        raise ContractError(f"model: {kind} {name!r} has rank {len(shape)} in the graph, "
                            f"{len(dims)} in the contract: re-export the model")
    for axis, (got, want) in enumerate(zip(shape, dims)):
        if want is not None and isinstance(got, int) and got > 0 and got != want:
            raise ContractError(f"model: {kind} {name!r} axis {axis} is {got} in the graph, "
                                f"{want} in the contract: re-export the model")


def _static_batch(tensors: list[TensorInfo]) -> int | None:
    sizes = {t.shape[0] for t in tensors if t.shape and isinstance(t.shape[0], int)
             and t.shape[0] > 0}
    if len(sizes) > 1:
        raise ContractError(f"model: the graph's batch axes disagree ({sorted(sizes)}): "
                            "re-export the model with one batch size")
    batch = sizes.pop() if sizes else None
    if batch is not None and batch > MAX_BATCH:
        raise ContractError(f"model: the graph's fixed batch is {batch:,} (at most {MAX_BATCH:,}): "
                            "re-export it with a symbolic batch axis")
    return batch
