"""Graph work kept because it keeps parity and measurably helps (see docs/benchmarks.md).

1. Stride-2 ConvTranspose → four phase Convs + DepthToSpace, and a 1×1-input stem ConvTranspose →
   MatMul (exports/convtranspose.py), each with the following BatchNorm folded into its weights.
2. ONNX Runtime's offline optimization at the *basic* level: constants folded, BatchNorm folded
   into a preceding Conv, identities dropped. Basic rewrites are provider-independent, so the file
   stays portable; the layout- and CPU-specific fusions of the higher levels are left to the
   session that runs the model, on the hardware it runs on.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import onnx
import onnxruntime as ort

from exports.convtranspose import rewrite_convtransposes


@dataclass(frozen=True)
class OptimizeReport:
    """What the optimizer did to a graph."""

    phase_convs: int  # stride-2 ConvTranspose layers rewritten as phase convolutions
    stem_matmuls: int  # 1×1-input ConvTranspose layers rewritten as MatMul
    nodes_before: int
    nodes_after: int
    ops_after: dict[str, int]  # op type → count in the optimized graph

    def summary(self) -> str:
        """One line for the export report."""
        return (f"ConvTranspose → {self.phase_convs} phase Conv, {self.stem_matmuls} MatMul; "
                f"ORT basic level; "
                f"{self.nodes_before} → {self.nodes_after} nodes")


def optimize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, OptimizeReport]:
    """The optimized copy of ``model`` (the input is left untouched) and what was done."""
    before = len(model.graph.node)
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(model)
    counts = rewrite_convtransposes(rewritten)
    optimized = ort_offline(rewritten)
    ops = Counter(n.op_type for n in optimized.graph.node)
    return optimized, OptimizeReport(counts.phase_convs, counts.stem_matmuls, before,
                                     len(optimized.graph.node), dict(ops))


def ort_offline(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` after ONNX Runtime's basic-level graph optimization, as a new ModelProto."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory(prefix="ganedge-optimize-") as tmp:
        out = Path(tmp) / "optimized.onnx"
        options.optimized_model_filepath = str(out)
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        optimized = onnx.load(str(out))
    optimized.ClearField("metadata_props")
    # ORT declares every domain it knows; keep the ones the graph uses
    used = {n.domain for n in optimized.graph.node} | {""}
    kept = [o for o in optimized.opset_import if o.domain in used]
    del optimized.opset_import[:]
    optimized.opset_import.extend(kept)
    return optimized
