"""The benchmark's worker: times one candidate in a fresh interpreter that imports only what that
candidate needs.

Not multiprocessing's "spawn": it re-imports the caller's main module in the child, so a
benchmark script that imports torch loaded torch (and its OpenMP runtime) into every ONNX Runtime
and OpenVINO worker too. That import alone slowed them: DCGAN-64 at batch 1 on a 2-core AMD
EPYC, ONNX Runtime 1.44 → 1.94 ms and OpenVINO 1.73 → 3.11 ms.

Protocol: ``python -m ganedge.bench.worker JOB RESULT``. JOB holds two pickles written by the
parent into its own private temporary folder: its ``sys.path`` (so the starter's module imports
here as it does there), then ``(start, inputs, config)``. RESULT receives the pickled
``{batch: Measurement}``.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    job, result = (Path(arg) for arg in argv)
    with job.open("rb") as handle:
        sys.path[:] = pickle.load(handle)
        start, inputs, config = pickle.load(handle)
    from ganedge.bench.timing import measure

    measured = measure(start, inputs, config)
    with result.open("wb") as handle:
        pickle.dump(measured, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
