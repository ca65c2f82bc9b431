"""GAN losses as pure functions of discriminator logits, in a registry.

Each entry is ``d_loss(real, fake, real_label=1.0)`` and ``g_loss(fake, real)``, both minimised;
``real`` logits reach ``g_loss`` only for relativistic losses (``uses_real_in_g``).
``real_label < 1`` is one-sided label smoothing, offered by losses with a target (``smoothable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from trainer.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class GanLoss:
    """The discriminator's and the generator's objective."""

    d_loss: Callable[..., Tensor]  # (real (B,), fake (B,), real_label) → scalar
    g_loss: Callable[[Tensor, Tensor], Tensor]  # (fake (B,), real (B,)) → scalar
    uses_real_in_g: bool = False  # the G step must also score real images
    smoothable: bool = False  # real_label < 1 is meaningful


LOSSES: Registry[GanLoss] = Registry("loss", "ganedge.losses")


def _bce_real(real: Tensor, real_label: float) -> Tensor:
    # cross-entropy of σ(real) against target real_label, via softplus for stability
    return (real_label * F.softplus(-real) + (1 - real_label) * F.softplus(real)).mean()


def d_logistic(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """-log σ(real) - log(1 - σ(fake))."""
    return _bce_real(real, real_label) + F.softplus(fake).mean()


def g_minimax(fake: Tensor, real: Tensor) -> Tensor:
    """log(1 - σ(fake)): the original, saturating objective."""
    return -F.softplus(fake).mean()


def g_nonsaturating(fake: Tensor, real: Tensor) -> Tensor:
    """-log σ(fake) (Goodfellow et al. 2014)."""
    return F.softplus(-fake).mean()


def d_wasserstein(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """Critic: E[D(fake)] - E[D(real)] (Arjovsky et al. 2017); needs a Lipschitz constraint."""
    return fake.mean() - real.mean()


def g_critic(fake: Tensor, real: Tensor) -> Tensor:
    """-E[D(fake)]: the generator loss of wasserstein and hinge."""
    return -fake.mean()


def d_hinge(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """E[relu(1 - D(real))] + E[relu(1 + D(fake))] (Lim & Ye 2017)."""
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def d_least_squares(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """½E[(D(real) - 1)²] + ½E[D(fake)²] (Mao et al. 2017)."""
    return 0.5 * ((real - real_label) ** 2).mean() + 0.5 * (fake**2).mean()


def g_least_squares(fake: Tensor, real: Tensor) -> Tensor:
    """½E[(D(fake) - 1)²]."""
    return 0.5 * ((fake - 1) ** 2).mean()


def d_relativistic(real: Tensor, fake: Tensor, real_label: float = 1.0) -> Tensor:
    """RaGAN (Jolicoeur-Martineau 2018): real should look more real than the average fake."""
    return _bce_real(real - fake.mean(), real_label) + F.softplus(fake - real.mean()).mean()


def g_relativistic(fake: Tensor, real: Tensor) -> Tensor:
    """The discriminator's relativistic objective with the roles of real and fake swapped."""
    return F.softplus(-(fake - real.mean())).mean() + F.softplus(real - fake.mean()).mean()


for _name, _loss in {
    "minimax": GanLoss(d_logistic, g_minimax, smoothable=True),
    "nonsaturating": GanLoss(d_logistic, g_nonsaturating, smoothable=True),
    "wasserstein": GanLoss(d_wasserstein, g_critic),
    "hinge": GanLoss(d_hinge, g_critic),
    "least_squares": GanLoss(d_least_squares, g_least_squares, smoothable=True),
    "relativistic_average": GanLoss(d_relativistic, g_relativistic, uses_real_in_g=True,
                                    smoothable=True),
}.items():
    LOSSES.register(_name)(_loss)
