"""Offline evaluation of generated images against real data, with a real-vs-real floor.

Figures: Fréchet distance and KID in the feature space of a network the toolkit trains on the
real data itself (numpy; cached), precision/recall/density/coverage, and for labeled data the
modes covered and KL(generated ‖ real) class histograms; FID in Inception space only from a
local ONNX file. Nothing is downloaded.

Example:
    >>> from ganedge.evaluation import evaluate_model
    >>> print(evaluate_model("runs/x/model.onnx", data="digits").format())   # doctest: +SKIP
"""

from ganedge.evaluation.config import EvalConfig
from ganedge.evaluation.evaluator import Evaluator, evaluate_images
from ganedge.evaluation.model import evaluate_model
from ganedge.evaluation.result import EvalResult, Figure

__all__ = ["EvalConfig", "EvalResult", "Evaluator", "Figure", "evaluate_images", "evaluate_model"]
