"""Benchmark starters that the scripts in benchmarks/ define for themselves.

They live in this torch-free module rather than in the scripts: the benchmark's worker process
(ganedge.bench.worker) imports a starter's module to unpickle it, and importing a script would
load torch into the very ONNX Runtime worker it is meant to time alone. Like every ONNX
candidate they run the model through ganedge's runtime (ganedge.bench.candidates.load_model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganedge.bench.candidates import load_model
from ganedge.bench.timing import RunFn
from ganedge.runtime.session import SessionSettings


@dataclass(frozen=True)
class SynthesisStarter:
    """Times a StyleGAN model's synthesis half alone (``GeneratorModel.synthesis``): the ws of
    the batch's latents are mapped once, untimed."""

    path: Path
    threads: int | None

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        gen = load_model(self.path, "cpu", settings=SessionSettings(threads=self.threads))
        ws_of: dict[int, np.ndarray] = {}

        def run(z: np.ndarray) -> np.ndarray:
            if len(z) not in ws_of:
                ws_of[len(z)] = gen.mapping(z)
            return gen.synthesis(ws_of[len(z)])

        return run, gen.providers[0]
