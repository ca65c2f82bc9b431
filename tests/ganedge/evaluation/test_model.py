"""evaluate_model on hand-built ONNX generators carrying a ganedge contract."""

from pathlib import Path

import numpy as np
import pytest

from ganedge.contract import ModelContract
from ganedge.evaluation import Evaluator, evaluate_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _lookup_generator(path: Path, table: np.ndarray) -> Path:
    """A conditional "generator" whose image is table[label] (K, 1, 32, 32); z is ignored."""
    k = len(table)
    contract = ModelContract(latent_dim=8, channels=1, height=32, width=32, num_classes=k)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "label"], ["images"], axis=0)], "lookup",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", 8]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["B"])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["B", 1, 32, 32])],
        initializer=[numpy_helper.from_array(table.astype(np.float32), "table")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, contract.to_metadata())
    onnx.save(model, path)
    return path


@pytest.mark.slow
def test_conditional_model_is_asked_for_every_class(tmp_path: Path,
                                                    digits_evaluator: Evaluator) -> None:
    # one held-out real exemplar per class
    held = digits_evaluator.real_heldout
    labels = digits_evaluator.labels_heldout
    table = np.stack([held[np.flatnonzero(labels == c)[0]] for c in range(10)])
    table = table.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    model = _lookup_generator(tmp_path / "lookup.onnx", table)
    result = evaluate_model(model, "digits", n=100, seed=7, provider="cpu")
    assert result["modes covered"].value == 10 and not result.collapse
    assert result["label accuracy"].value >= 0.9
    # ten distinct images repeated: the diversity figures expose it
    assert result["recall"].value < 0.2 and result["coverage"].value < 0.2
    assert result.protocol["fake_seeds"] == "7-106" and result.protocol["n_fake"] == 100
