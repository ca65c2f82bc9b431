"""Evaluate an exported ONNX generator: sample it through the runtime, then score the images."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganedge.budgets import check_image_bytes
from ganedge.errors import InputError
from ganedge.evaluation.config import EvalConfig, check_sample_count
from ganedge.evaluation.evaluator import Evaluator
from ganedge.evaluation.result import EvalResult
from ganedge.io.datasets import ImageDataset
from ganedge.io.imaging import save_png
from ganedge.runtime.model import GeneratorModel, load

BATCH_SIZE = 64


def evaluate_model(path: str | Path, data: str | Path | ImageDataset = "digits",
                   n: int | None = None, seed: int = 0, config: EvalConfig | None = None,
                   provider: str = "auto", inception_range: str = "0,1",
                   grid: str | Path | None = None, evaluator: Evaluator | None = None,
                   latent_dim: int | None = None, allow_nonfinite: bool = False,
                   on_stage: Callable[[str], None] | None = None) -> EvalResult:
    """Sample ``n`` images (seeds seed..seed+n-1; default: as many as the held-out real split,
    26,000 for stacked-digits) from an exported model and score them against ``data``.

    ``evaluator``: one already built for the model's image size (``data``, ``config`` and
    ``inception_range`` are then its own), so several models are scored against one reference.

    Conditional models are asked for classes 0, 1, …, K-1 in turn, and "label accuracy" is added.
    ``grid``: also write the samples' mode grid (one row per class) there as PNG. ``on_stage`` is
    told each stage as it starts (the CLI shows progress with it).
    ``latent_dim``: for a third-party generator without a ganedge contract, and
    ``allow_nonfinite``: score NaN/Inf output as pixels anyway (both as in ganedge.load).

    Example:
        >>> print(evaluate_model("runs/x/model.onnx", "digits").format())   # doctest: +SKIP
    """
    if n is not None:
        check_sample_count(n, evaluator.config if evaluator else config or EvalConfig(), "n")
    gen = load(path, provider=provider, latent_dim=latent_dim, allow_nonfinite=allow_nonfinite)
    c = gen.contract
    if c.height != c.width:
        raise InputError(f"model: images are {c.height}x{c.width}; evaluation needs square images")
    stage = on_stage or (lambda _: None)
    if n is not None:
        check_image_bytes(n, gen.image_shape, "n", "score fewer images")
    if evaluator is None:
        stage("real data and feature network")
        evaluator = Evaluator(data, c.height, c.channels, config, inception_range, provider)
    count = evaluator.default_n if n is None else n
    labels = np.arange(count, dtype=np.int64) % c.num_classes if c.conditional else None
    stage(f"sampling {count} images")
    images = _sample(gen, count, seed, labels)
    used = labels if evaluator.labeled else None
    stamp = {"model": str(path), "fake_seeds": f"{seed}-{seed + count - 1}",
             "provider": gen.providers[0]}
    stage("features and metrics")
    result = evaluator.evaluate(images, used, extra_protocol=stamp)
    if grid is not None:
        save_png(evaluator.mode_grid(images), grid)
    return result


def _sample(gen: GeneratorModel, n: int, seed: int, labels: np.ndarray | None) -> np.ndarray:
    """(n, H, W, C) uint8 images for seeds seed..seed+n-1 (and ``labels`` when conditional)."""
    return gen.sample(n, seed=seed, labels=labels, batch_size=BATCH_SIZE)
