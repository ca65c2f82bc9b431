"""The 1,000-mode stacked-digits protocol counts modes as the Stacked MNIST papers do."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganedge.evaluation import EvalConfig, Evaluator
from ganedge.evaluation.stacked import DEFAULT_N, stacked_mode_stats
from ganedge.io.datasets import load_stacked_digits
from ganedge.io.imaging import to_uint8_nhwc
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("eval_cache")
COLLAPSED = (0, 7, 42, 123, 456, 789, 999)


@pytest.fixture(scope="module")
def stacked_evaluator() -> Evaluator:
    return Evaluator("stacked-digits", image_size=32, channels=3, config=EvalConfig(kid_subsets=5))


def _collapsed(evaluator: Evaluator, per_mode: int = 20) -> np.ndarray:
    """(7 · per_mode, 32, 32, 3) uint8 real stacks from the seven COLLAPSED modes only, each
    channel one the classifier reads right, so the counter alone decides the count."""
    data = load_stacked_digits(32, n=30_000, seed=11)
    images = to_uint8_nhwc(data.images)
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    read = evaluator.net.channel_probabilities(x).argmax(axis=2) @ np.array([100, 10, 1])
    picks = [np.flatnonzero((data.labels == m) & (read == m))[:per_mode] for m in COLLAPSED]
    assert all(len(p) == per_mode for p in picks)
    return images[np.concatenate(picks)]


@pytest.mark.slow
def test_real_stacks_cover_all_1000_modes_evenly(stacked_evaluator: Evaluator) -> None:
    real = stacked_evaluator.net.real_stacks(DEFAULT_N, seed=5)  # (N, S, S, 3) uint8
    x = real.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    stats = stacked_mode_stats(stacked_evaluator.net.channel_probabilities(x))
    assert stats.covered == 1000 and stats.missing == ()
    # a fair draw of 26,000 leaves KL ≈ (1000 - 1) / (2 · 26,000) ≈ 0.019 of sampling noise
    assert stats.kl < 0.03
    assert all(sum(h) == DEFAULT_N and min(h) > 0.9 * DEFAULT_N / 10
               for h in stats.channel_histograms)


@pytest.mark.slow
def test_hand_collapsed_set_counts_exactly_its_modes(stacked_evaluator: Evaluator) -> None:
    result = stacked_evaluator.evaluate(_collapsed(stacked_evaluator))
    assert result["modes (of 1000)"].value == 7
    assert result["KL(modes||uniform)"].value == pytest.approx(np.log(1000 / 7), abs=0.05)
    assert result.collapse and len(result.missing_modes) == 993
    assert not set(result.missing_modes) & {f"{m:03d}" for m in COLLAPSED}
    histograms = result.protocol["stacked_modes"]["channel_histograms"]["generated"]
    assert [sum(h) for h in histograms] == [140, 140, 140]


def test_mode_counter_on_exact_probabilities() -> None:
    digits = np.array([[1, 2, 3], [1, 2, 3], [9, 9, 9], [0, 0, 0]])
    probs = np.eye(10)[digits]  # (4, 3, 10)
    stats = stacked_mode_stats(probs)
    assert stats.covered == 3 and len(stats.missing) == 997 and 123 not in stats.missing
    share = np.array([0.5, 0.25, 0.25])
    assert stats.kl == pytest.approx(float((share * np.log(share * 1000)).sum()))
    assert stats.channel_histograms[0] == (1, 2, 0, 0, 0, 0, 0, 0, 0, 1)


@pytest.mark.slow
def test_cli_eval_stacked_images_reports_modes_and_collapse(stacked_evaluator: Evaluator,
                                                            tmp_path: Path) -> None:
    np.savez(tmp_path / "fakes.npz", images=_collapsed(stacked_evaluator, per_mode=3))
    result = run_cli("eval", "--images", str(tmp_path / "fakes.npz"), "--data", "stacked-digits",
                     "--channels", "3", "-o", str(tmp_path / "r.json"))
    assert "modes (of 1000)" in result.stdout and "mode collapse: classes 001, 002" in result.stdout
    assert "and 973 more not covered" in result.stdout
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["figures"]["modes (of 1000)"]["value"] == 7
    assert saved["protocol"]["stacked_modes"]["collapse_below"] == 990
