"""Evaluation tests share one feature-network cache folder, so digits trains once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganedge.evaluation import EvalConfig, Evaluator
from ganedge.evaluation.cache import CACHE_ENV


@pytest.fixture(scope="session", autouse=True)
def eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """$GANEDGE_CACHE pointed at a session folder (subprocess CLI runs inherit it)."""
    folder = tmp_path_factory.mktemp("ganedge-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(scope="session")
def digits_evaluator(eval_cache: Path) -> Evaluator:
    """The evaluator of 32×32 digits; fewer KID subsets (not part of the feature-net cache key)."""
    return Evaluator("digits", image_size=32, channels=1, config=EvalConfig(kid_subsets=10))
