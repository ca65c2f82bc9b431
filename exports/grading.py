"""Grade a reduced-precision variant by the offline evaluation metric, next to its fp32 graph.

Pixel error says how far each image moved; the metric says whether the *distribution* of images
still matches the data (FD, KID, precision/recall, modes) — the question a user of an int8 model
actually has. Both graphs are sampled through the runtime on the same seeds, exactly as
``ganedge eval`` samples them, so the difference is the precision alone.
"""

from __future__ import annotations

import onnx

from exports.scratch import scratch_files
from ganedge.contract import ModelContract

HEADLINE = ("FD", "KID", "precision", "recall", "coverage", "modes covered", "KL(gen||real)")


def grade(graphs: dict[str, onnx.ModelProto], contract: ModelContract,
          data: str) -> dict[str, dict[str, float]]:
    """Name → {figure name → value} for each graph, on the evaluator's held-out sample size."""
    from ganedge.evaluation import Evaluator, evaluate_model

    evaluator = Evaluator(data, image_size=contract.height, channels=contract.channels)
    with scratch_files(graphs, contract) as paths:
        results = {name: evaluate_model(path, evaluator=evaluator, provider="cpu")
                   for name, path in paths.items()}
    return {name: {f.name: f.value for f in result.figures if f.name in HEADLINE}
            for name, result in results.items()}


def describe(figures: dict[str, dict[str, float]], precision: str) -> str:
    """E.g. "FD 2.90 → 2.95, KID 0.233 → 0.236 (fp32 → int8)"."""
    base, variant = figures["fp32"], figures[precision]
    shown = [name for name in ("FD", "KID", "modes covered") if name in base and name in variant]
    parts = [f"{name} {base[name]:.3g} → {variant[name]:.3g}" for name in shown]
    return f"{', '.join(parts)} (fp32 → {precision})"
