"""Export a StyleGAN generator as one ONNX file that keeps its structure: a mapping subgraph
z [+ label] → ws and an independent synthesis subgraph ws → images.

The two halves share no node, so a caller runs either one alone by feeding the other's input an
empty (0, …) batch (ONNX Runtime runs every node of a graph whatever outputs are asked for; an
empty batch makes the idle half cost next to nothing); ganedge.runtime.runner does it, for the
parity check below too. Truncation is not in the graph: the contract carries w_avg and the
runtime computes w_avg + ψ·(w − w_avg) — one place, any ψ and cutoff, no re-export. Noise is
the layers' constant maps, stored as initializers.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
import onnx
import torch
from torch import nn

from exports.parity import FP32_TOLERANCE, PARITY_BATCHES, BatchParity, ParityReport, example_inputs
from ganedge.contract import ModelContract
from ganedge.errors import ConfigError, ParityError
from ganedge.runtime.runner import parity_runner

WS_BATCH_AXIS = "ws_batch"  # the synthesis batch, independent of the mapping's


class MappingAndSynthesis(nn.Module):
    """(z [, labels], ws) → (mapped ws of z, images of ws): the two halves side by side."""

    def __init__(self, generator: nn.Module, conditional: bool) -> None:
        super().__init__()
        self.generator, self.conditional = generator, conditional

    def forward(self, z: torch.Tensor, *rest: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        labels = rest[0] if self.conditional else None
        return self.generator.mapping(z, labels), self.generator.synthesis(rest[-1])


def stylegan_contract(generator: nn.Module) -> ModelContract:
    """The contract of an eval-mode StyleGAN generator (mapping.w_avg is read as it is now)."""
    mapping = generator.mapping
    if getattr(mapping, "w_avg", None) is None:
        raise ConfigError("generator: its mapping tracks no w_avg, so W truncation has no centre")
    w_avg = mapping.w_avg.detach().float().cpu().numpy()
    if not np.isfinite(w_avg).all():
        raise ConfigError("generator: mapping.w_avg holds NaN/Inf: the checkpoint is damaged")
    with torch.no_grad():
        probe = generator.synthesis(torch.zeros(1, generator.num_ws, generator.w_dim))
    _, channels, height, width = probe.shape
    return ModelContract(latent_dim=generator.z_dim, channels=channels, height=height,
                         width=width, num_classes=generator.c_dim, num_ws=generator.num_ws,
                         w_dim=generator.w_dim, w_avg=tuple(float(v) for v in w_avg))


def trace_stylegan(generator: nn.Module, contract: ModelContract, opset: int,
                   fixed_batch: int | None = None) -> onnx.ModelProto:
    """Trace both halves into one graph with independent symbolic batch axes, or with the
    synthesis batch fixed at ``fixed_batch`` (needed by the 'grouped' modulated convolution,
    whose group count is the batch; used to benchmark it)."""
    wrapper = MappingAndSynthesis(generator, contract.conditional).eval()
    z_inputs = example_inputs(2, contract.latent_dim, contract.num_classes)
    # a different batch: nothing ties the halves
    ws = torch.zeros(fixed_batch or 3, contract.num_ws, contract.w_dim)
    names = [contract.input_name] + ([contract.label_input_name] if contract.conditional else [])
    axes = {name: {0: "batch"} for name in [*names, contract.ws_output_name]}
    if fixed_batch is None:
        axes.update({name: {0: WS_BATCH_AXIS} for name in (contract.ws_input_name,
                                                            contract.output_name)})
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning,
                                         torch.jit.TracerWarning))
        torch.onnx.export(wrapper, (*z_inputs, ws), buffer,
                          input_names=[*names, contract.ws_input_name],
                          output_names=[contract.ws_output_name, contract.output_name],
                          opset_version=opset, dynamic_axes=axes, dynamo=False)
    model = onnx.load_from_string(buffer.getvalue())
    if fixed_batch is None:
        _check_symbolic(model)
    return model


def _check_symbolic(model: onnx.ModelProto) -> None:
    for value in [*model.graph.input, *model.graph.output]:
        dim = value.type.tensor_type.shape.dim[0]
        if not dim.dim_param:
            raise ParityError(f"export: {value.name!r} has a fixed batch axis ({dim.dim_value}) "
                              "after tracing: the modulated convolution must not read the batch "
                              "size as a Python int (use the 'activations' or 'matmul' form)")


def check_stylegan_parity(generator: nn.Module, onnx_bytes: bytes, contract: ModelContract,
                          batches: Sequence[int] = PARITY_BATCHES) -> tuple[ParityReport,
                                                                            ParityReport]:
    """(mapping parity on ws, synthesis parity on images) against PyTorch at each batch size;
    synthesis is fed truncated ws (ψ = 0.7), the input the runtime usually gives it."""
    runner = parity_runner(onnx_bytes, contract)
    mapping, synthesis = [], []
    for batch in batches:
        inputs = example_inputs(batch, contract.latent_dim, contract.num_classes, first_seed=7)
        with torch.no_grad():
            ws = generator.mapping(*inputs)
            ws_in = generator.mapping(*inputs, truncation_psi=0.7)
            images = generator.synthesis(ws_in)
        got_ws = runner.mapping(inputs[0].numpy(),
                                inputs[1].numpy() if contract.conditional else None)
        got_img = runner.synthesis(ws_in.numpy())
        mapping.append(_compare(batch, ws.numpy(), got_ws))
        synthesis.append(_compare(batch, images.numpy(), got_img))
    return (ParityReport(FP32_TOLERANCE, tuple(mapping)),
            ParityReport(FP32_TOLERANCE, tuple(synthesis)))


def _compare(batch: int, expected: np.ndarray, got: np.ndarray) -> BatchParity:
    if expected.shape != got.shape:
        return BatchParity(batch, float("inf"), float("inf"), False, bool(np.isfinite(got).all()))
    diff = np.abs(expected.astype(np.float64) - got)
    return BatchParity(batch, float(diff.max()), float(diff.mean()), True,
                       bool(np.isfinite(got).all()))
