"""In-memory graphs written to a temporary folder with the contract in their metadata, so the
runtime's file-based tools (bench timing, evaluation) can run them exactly as a user would."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx

from ganedge.contract import ModelContract


@contextmanager
def scratch_files(graphs: dict[str, onnx.ModelProto],
                  contract: ModelContract) -> Iterator[dict[str, Path]]:
    """Name → path of each graph (the graphs themselves are not modified); removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ganedge-scratch-") as tmp:
        paths = {}
        for name, graph in graphs.items():
            copy = onnx.ModelProto()
            copy.CopyFrom(graph)
            onnx.helper.set_model_props(copy, contract.to_metadata())
            paths[name] = Path(tmp) / f"{name}.onnx"
            onnx.save_model(copy, str(paths[name]))
        yield paths
