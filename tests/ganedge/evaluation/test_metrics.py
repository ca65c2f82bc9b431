import numpy as np
import pytest

from ganedge.errors import InputError
from ganedge.evaluation.frechet import frechet_distance, frechet_distance_features, kernel_distance
from ganedge.evaluation.manifold import manifold_metrics
from ganedge.evaluation.modes import kl_divergence, mode_stats


def test_frechet_distance_of_identical_sets_is_zero() -> None:
    x = np.random.default_rng(0).standard_normal((500, 16))
    assert frechet_distance_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians() -> None:
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    # ‖Δμ‖² + Σ (σ1 − σ2)² = 5 + (1 + 1 + 4)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(11.0)


def test_frechet_distance_matches_closed_form_for_non_commuting_2x2() -> None:
    s1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    s2 = np.array([[1.0, -0.3], [-0.3, 3.0]])
    # for 2×2, tr √M = √(tr M + 2 √det M) with M = Σ1 Σ2
    m = s1 @ s2
    trace_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    expected = 1.0 + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt
    assert frechet_distance(np.zeros(2), s1, np.array([1.0, 0.0]), s2) == pytest.approx(expected)


def test_frechet_distance_of_samples_approaches_the_gaussians_value() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((20000, 2)) * [1.0, 2.0]
    b = rng.standard_normal((20000, 2)) * [3.0, 2.0] + [2.0, 0.0]
    # 4 + (1 − 3)² + 0 = 8
    assert frechet_distance_features(a, b) == pytest.approx(8.0, rel=0.03)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    same, _ = kernel_distance(a, b, subsets=10, subset_size=200, seed=0)
    shifted, _ = kernel_distance(a, b + 1.0, subsets=10, subset_size=200, seed=0)
    assert abs(same) < 0.05 and shifted > 1.0
    assert kernel_distance(a, b, 10, 200, seed=0) == kernel_distance(a, b, 10, 200, seed=0)


def test_manifold_metrics_on_a_hand_computed_line() -> None:
    real = np.arange(10.0)[:, None]  # k=1 balls of radius 1 around 0..9
    fake = np.array([[0.5], [20.0]])  # 0.5 sits in the balls of 0 and 1; 20 in none
    m = manifold_metrics(real, fake, k=1)
    # fake balls have radius 19.5, so every real point lies in the ball of 0.5
    assert (m.precision, m.recall, m.density, m.coverage) == (0.5, 1.0, 1.0, 0.2)


def prdc_reference(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The prdc package's definitions (Naeem et al. 2020, clovaai/generative-evaluation-prdc),
    restated on full distance matrices: open balls (strict <), radius = the k-th other point."""
    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))

    real_r, fake_r = (np.sort(dist(x, x), axis=1)[:, k] for x in (real, fake))
    d = dist(real, fake)
    inside = d < real_r[:, None]
    return {"precision": inside.any(axis=0).mean(),
            "recall": (d < fake_r[None, :]).any(axis=1).mean(),
            "density": inside.sum(axis=0).mean() / k,
            "coverage": (d.min(axis=1) < real_r).mean()}


def test_identical_sets_give_density_one_as_prdc_does() -> None:
    x = np.random.default_rng(3).standard_normal((300, 8))
    m = manifold_metrics(x, x, k=5)
    assert (m.precision, m.recall, m.density, m.coverage) == (1.0, 1.0, 1.0, 1.0)


def test_manifold_metrics_equal_prdcs_definition_on_sets_with_duplicates() -> None:
    rng = np.random.default_rng(4)
    # a 4×4 grid of integer points: many duplicates and many points exactly on a ball's edge,
    # all distances exact in float64, so the comparison is exact
    real = rng.integers(0, 4, (60, 2)).astype(np.float64)
    fake = np.concatenate([real[:20], rng.integers(0, 5, (40, 2))]).astype(np.float64)
    for k in (1, 3, 5):
        expected = prdc_reference(real, fake, k)
        got = manifold_metrics(real, fake, k)
        assert {name: getattr(got, name) for name in expected} == pytest.approx(expected, abs=1e-12)
    on_edge = np.sqrt(((real[:, None] - fake[None]) ** 2).sum(-1)) == prdc_reference_radii(real, 5)
    assert on_edge.any(), "the set must put fakes exactly on ball edges to test the rule"


def prdc_reference_radii(x: np.ndarray, k: int) -> np.ndarray:
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k][:, None]


def test_manifold_metrics_need_more_than_k_samples() -> None:
    with pytest.raises(InputError,
                       match=r"need more than k=5 samples on each side \(got 10 real, 5 fake\)"):
        manifold_metrics(np.zeros((10, 2)), np.zeros((5, 2)), k=5)


def test_modes_count_confident_classes_against_real_shares() -> None:
    real_labels = np.array([0, 1, 2, 3] * 25)
    # 10 images: 6 confidently class 0, 3 confidently class 1, 1 unsure class 2
    probs = np.zeros((10, 4))
    probs[:6, 0], probs[6:9, 1], probs[9] = 1.0, 1.0, [0.1, 0.1, 0.45, 0.35]
    modes = mode_stats(probs, real_labels, confidence=0.5, min_ratio=0.2)
    assert (modes.covered, modes.num_classes, modes.missing) == (2, 4, (2, 3))
    assert modes.confident == 0.9
    assert modes.kl == pytest.approx(kl_divergence(np.array([0.6, 0.3, 0.1, 0.0]),
                                                   np.full(4, 0.25)))


def test_kl_divergence_values() -> None:
    assert kl_divergence(np.full(4, 0.25), np.full(4, 0.25)) == pytest.approx(0.0, abs=1e-9)
    assert kl_divergence(np.array([1.0, 0, 0, 0]), np.full(4, 0.25)) == pytest.approx(np.log(4),
                                                                                      rel=1e-5)
