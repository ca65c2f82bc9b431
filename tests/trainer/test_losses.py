"""Every registered loss against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from trainer.losses import LOSSES

REAL, FAKE = [1.0, -1.0], [0.0, 2.0]


def sp(x: float) -> float:
    return math.log1p(math.exp(x))


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


RA_R = [r - mean(FAKE) for r in REAL]  # real relative to the average fake
RA_F = [f - mean(REAL) for f in FAKE]
EXPECTED = {  # name: (d_loss, g_loss)
    "minimax": (mean([sp(-r) for r in REAL]) + mean([sp(f) for f in FAKE]),
                -mean([sp(f) for f in FAKE])),
    "nonsaturating": (mean([sp(-r) for r in REAL]) + mean([sp(f) for f in FAKE]),
                      mean([sp(-f) for f in FAKE])),
    "wasserstein": (mean(FAKE) - mean(REAL), -mean(FAKE)),
    "hinge": (mean([max(0, 1 - r) for r in REAL]) + mean([max(0, 1 + f) for f in FAKE]),
              -mean(FAKE)),
    "least_squares": (0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE]),
                      0.5 * mean([(f - 1) ** 2 for f in FAKE])),
    "relativistic_average": (mean([sp(-r) for r in RA_R]) + mean([sp(f) for f in RA_F]),
                             mean([sp(-f) for f in RA_F]) + mean([sp(r) for r in RA_R])),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loss_values(name: str) -> None:
    loss = LOSSES.get(name)
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    d_expected, g_expected = EXPECTED[name]
    assert loss.d_loss(real, fake).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g_loss(fake, real).item() == pytest.approx(g_expected, rel=1e-12)


def test_label_smoothing_targets_point_nine() -> None:
    real, fake = torch.tensor([2.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
    got = LOSSES.get("nonsaturating").d_loss(real, fake, 0.9).item()
    assert got == pytest.approx(0.9 * sp(-2) + 0.1 * sp(2) + sp(0), rel=1e-12)


def test_unknown_loss_lists_names() -> None:
    with pytest.raises(Exception, match="choose one of .*hinge"):
        LOSSES.get("nope")


def test_every_registered_loss_is_tested() -> None:
    assert set(LOSSES.names()) <= set(EXPECTED)
