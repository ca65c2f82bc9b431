"""Benchmark starters that the scripts in benchmarks/ define for themselves.

They live in this torch-free module rather than in the scripts: the benchmark's worker process
(ganedge.bench.worker) imports a starter's module to unpickle it, and importing a script would
load torch into the very ONNX Runtime worker it is meant to time alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge.bench.timing import RunFn
from ganedge.contract import ModelContract
from ganedge.stylegan import idle_feeds


class SynthesisStarter:
    """Times the synthesis half alone: ws of the batch's latents are mapped once, untimed."""

    def __init__(self, path: Path, threads: int | None) -> None:
        self.path, self.threads = path, threads

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        session = ort.InferenceSession(str(self.path), options,
                                       providers=["CPUExecutionProvider"])
        c = ModelContract.from_metadata(dict(session.get_modelmeta().custom_metadata_map))
        cache: dict[int, np.ndarray] = {}

        def run(z: np.ndarray) -> np.ndarray:
            if len(z) not in cache:  # zeros, not an empty batch: a grouped graph's is fixed
                ws = np.zeros((len(z), c.num_ws, c.w_dim), np.float32)
                cache[len(z)] = session.run([c.ws_output_name],
                                            {c.input_name: z, c.ws_input_name: ws})[0]
            feeds = {c.ws_input_name: cache[len(z)], **idle_feeds(c, "synthesis")}
            return session.run([c.output_name], feeds)[0]

        return run, "CPUExecutionProvider"
