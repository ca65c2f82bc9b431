"""Grade a reduced-precision variant by the offline evaluation metric, next to its fp32 graph.

Pixel error says how far each image moved; the metric says whether the *distribution* of images
still matches the data (FD, KID, precision/recall, modes) — the question a user of an int8 model
actually has. Both graphs draw the same seeded latents, so the difference is the precision alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from ganedge.contract import ModelContract
from ganedge.latents import latents_for_seeds

GRADE_BATCH = 256
HEADLINE = ("FD", "KID", "precision", "recall", "coverage", "modes covered", "KL(gen||real)")


def grade(graphs: dict[str, onnx.ModelProto], contract: ModelContract, data: str) -> dict[str, dict[str, float]]:
    """Name → {figure name → value} for each graph, on the evaluator's held-out sample size."""
    from ganedge.evaluation import Evaluator

    evaluator = Evaluator(data, image_size=contract.height, channels=contract.channels)
    n = evaluator.n_heldout
    labels = (np.arange(n, dtype=np.int64) % contract.num_classes) if contract.conditional else None
    figures = {}
    for name, graph in graphs.items():
        result = evaluator.evaluate(_images(graph, contract, n, labels), fake_labels=labels)
        figures[name] = {f.name: f.value for f in result.figures if f.name in HEADLINE}
    return figures


def describe(figures: dict[str, dict[str, float]], precision: str) -> str:
    """E.g. "FD 2.90 → 2.95, KID 0.233 → 0.236 (fp32 → int8)"."""
    base, variant = figures["fp32"], figures[precision]
    shown = [name for name in ("FD", "KID", "modes covered") if name in base and name in variant]
    parts = [f"{name} {base[name]:.3g} → {variant[name]:.3g}" for name in shown]
    return f"{', '.join(parts)} (fp32 → {precision})"


def _images(graph: onnx.ModelProto, contract: ModelContract, n: int,
            labels: np.ndarray | None) -> Any:
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    chunks = []
    for start in range(0, n, GRADE_BATCH):
        seeds = range(start, min(n, start + GRADE_BATCH))
        feed = {contract.input_name: latents_for_seeds(seeds, contract.latent_dim)}
        if labels is not None:
            feed[contract.label_input_name] = labels[start : start + len(seeds)]
        chunks.append(session.run([contract.output_name], feed)[0])
    return np.concatenate(chunks)
