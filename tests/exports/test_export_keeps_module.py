"""export_generator leaves the caller's module exactly as it was — class, state and outputs —
whatever parametrization or norm hook it carries, and still folds them out of the graph."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize

from exports import export_generator

Z = 8


class Clamped(nn.Module):
    """A user's own parametrization: weights held in [-0.1, 0.1]."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.clamp(-0.1, 0.1)


def custom(module: nn.Module) -> nn.Module:
    return parametrize.register_parametrization(module, "weight", Clamped())


def old_weight_norm(module: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in favour of parametrizations
        return nn.utils.weight_norm(module)


# (wrapper for the Linear, wrapper for the convs): orthogonal and the custom one on the Linear only
KINDS: dict[str, tuple[Callable[[nn.Module], nn.Module], Callable[[nn.Module], nn.Module]]] = {
    "spectral_norm": (parametrizations.spectral_norm, parametrizations.spectral_norm),
    "weight_norm": (parametrizations.weight_norm, parametrizations.weight_norm),
    "orthogonal": (parametrizations.orthogonal, lambda m: m),
    "custom": (custom, parametrizations.spectral_norm),
    "old spectral_norm hook": (nn.utils.spectral_norm, nn.utils.spectral_norm),
    "old weight_norm hook": (old_weight_norm, old_weight_norm),
}


class Generator(nn.Module):
    """(B, Z) → (B, 1, 8, 8): Linear, nearest upsample, two convs."""

    def __init__(self, wrap_fc: Callable[[nn.Module], nn.Module],
                 wrap_conv: Callable[[nn.Module], nn.Module]) -> None:
        super().__init__()
        self.fc = wrap_fc(nn.Linear(Z, 8 * 4 * 4))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2), wrap_conv(nn.Conv2d(8, 8, 3, 1, 1)),
                                nn.ReLU(), wrap_conv(nn.Conv2d(8, 1, 3, 1, 1)), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(z).unflatten(1, (8, 4, 4)))


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_export_leaves_the_callers_module_as_it_was(kind: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = Generator(*KINDS[kind])
    for _ in range(2):  # training steps' power iterations give u, v real values
        module(torch.randn(4, Z))
    module.eval()
    z = torch.randn(5, Z)
    with torch.no_grad():
        before = module(z)
    classes = [type(m) for m in module.modules()]
    state = {k: v.clone() for k, v in module.state_dict().items()}

    result = export_generator(module, tmp_path / "g.onnx", latent_dim=Z, optimize=False)

    assert result.parity.ok and result.parity.max_err < 1e-5
    assert [type(m) for m in module.modules()] == classes
    assert module.state_dict().keys() == state.keys()
    for key, value in module.state_dict().items():
        assert torch.equal(value, state[key]), key
    with torch.no_grad():
        assert torch.equal(module(z), before)
    module.train()(z).sum().backward()  # and it still trains
    graph = onnx.load(str(tmp_path / "g.onnx")).graph
    leftover = [init.name for init in graph.initializer
                if "original" in init.name or init.name.endswith(("_orig", "_u", "_v", "_g"))]
    leftover += [n.op_type for n in graph.node if n.op_type in ("ReduceL2", "LpNormalization")]
    assert not leftover, "the parametrization was not folded"
