"""Make a generator export-ready: a deep copy in eval mode with parametrizations folded away."""

from __future__ import annotations

import copy

import onnx
from torch import nn
from torch.nn.utils import parametrize

from ganedge.errors import ConfigError

# Ops that would make the exported graph draw its own noise: noise must be an explicit input.
RANDOM_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                        "Multinomial", "Bernoulli"})


def prepare(module: nn.Module) -> nn.Module:
    """A CPU deep copy in eval mode whose spectral/weight-norm parametrizations are plain weights.

    ``remove_parametrizations(..., leave_parametrized=True)`` stores the current parametrized
    value (e.g. W / sigma), so the copy computes exactly what the eval-mode original computes.
    """
    copied = copy.deepcopy(module).cpu().eval()
    for sub in copied.modules():
        if parametrize.is_parametrized(sub):
            for name in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
    return copied


def check_no_random_ops(model: onnx.ModelProto) -> None:
    """Raise ConfigError when the graph samples noise itself (the image would not follow the seed)."""
    found = sorted({node.op_type for node in model.graph.node if node.op_type in RANDOM_OPS})
    if found:
        raise ConfigError(
            f"generator: the traced graph draws random numbers ({', '.join(found)}): "
            "pass noise in as an input (z) instead of calling torch.randn in forward"
        )
