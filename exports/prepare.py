"""Make a generator export-ready: a deep copy in eval mode with parametrizations folded away,
the caller's module untouched."""

from __future__ import annotations

import copy

import onnx
from torch import nn
from torch.nn.utils import parametrize, remove_spectral_norm, remove_weight_norm
from torch.nn.utils.spectral_norm import SpectralNorm
from torch.nn.utils.weight_norm import WeightNorm

from ganedge.errors import ConfigError

# Ops that would make the exported graph draw its own noise: noise must be an explicit input.
RANDOM_OPS = frozenset({"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
                        "Multinomial", "Bernoulli"})


def prepare(module: nn.Module) -> nn.Module:
    """A CPU deep copy in eval mode whose weight parametrizations are plain weights; the caller's
    module is left exactly as it was (class, state, outputs).

    Folds ``torch.nn.utils.parametrizations`` (spectral_norm, weight_norm, orthogonal, custom
    ``register_parametrization``) and the older hook-based ``torch.nn.utils.spectral_norm`` /
    ``weight_norm``. Each folded weight is the value the eval-mode original computes (e.g. W / σ
    with the stored power-iteration vectors), so the copy's outputs are the original's.
    """
    copied = copy.deepcopy(module).cpu().eval()
    for sub in copied.modules():
        if parametrize.is_parametrized(sub):
            _own_class(sub)
            for name in list(sub.parametrizations.keys()):
                parametrize.remove_parametrizations(sub, name, leave_parametrized=True)
        _fold_norm_hooks(sub)
    return copied


def _own_class(module: nn.Module) -> None:
    """Give a parametrized copy a class of its own: a deep copy shares the original's generated
    ``ParametrizedX`` class, and removing a parametrization deletes its property from that class,
    which would break the caller's module."""
    shared = type(module)
    body = {k: v for k, v in vars(shared).items() if k not in ("__dict__", "__weakref__")}
    module.__class__ = type(shared.__name__, shared.__bases__, body)


def _fold_norm_hooks(module: nn.Module) -> None:
    """Replace hook-based spectral/weight norm by the weight it computes in eval mode."""
    for hook in list(module._forward_pre_hooks.values()):
        if isinstance(hook, SpectralNorm):
            remove_spectral_norm(module, hook.name)
        elif isinstance(hook, WeightNorm):
            remove_weight_norm(module, hook.name)


def check_no_random_ops(model: onnx.ModelProto) -> None:
    """Raise ConfigError when the graph samples noise itself (the image would not follow the
    seed)."""
    found = sorted({node.op_type for node in model.graph.node if node.op_type in RANDOM_OPS})
    if found:
        raise ConfigError(
            f"generator: the traced graph draws random numbers ({', '.join(found)}): "
            "pass noise in as an input (z) instead of calling torch.randn in forward"
        )
