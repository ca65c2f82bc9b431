"""GPU check: CUDA-vs-CPU parity of the suite's DCGAN-64 (fp32 and fp16), then the latency table.

    bash benchmarks/gpu.sh          # or: python benchmarks/gpu.py [--budget 1.0]

Exits non-zero when no session runs on CUDA or when CUDA's output differs from CPU's beyond
tolerance. Rows: ganedge on CPU, on CUDA with IO binding, and on CUDA with CUDA graphs (one
captured graph per batch bucket), for the fp32 export and the fp16 one when the exporter has it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from benchmarks import suite  # noqa: E402
from ganedge import providers as prov  # noqa: E402
from ganedge.bench import BenchConfig, run_bench  # noqa: E402
from ganedge.bench.candidates import model_candidates  # noqa: E402
from ganedge.bench.report import render_markdown  # noqa: E402
from ganedge.iobinding import BoundRunner  # noqa: E402
from ganedge.latents import latents_for_seeds  # noqa: E402
from ganedge.session import SessionSettings, create_session  # noqa: E402

TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2}  # max abs on the [-1, 1] scale, CUDA vs CPU fp32
BUCKETS = (1, 8, 64)


def parity(model: Path, reference: Path, precision: str, cuda_graph: bool) -> float:
    """Max |CUDA output − CPU fp32 output| over every bucket, through the bound runner."""
    cpu = create_session(reference, [prov.CPU], None)
    cuda = create_session(model, [prov.CUDA], None, SessionSettings(cuda_graph=cuda_graph))
    if cuda.get_providers()[0] != prov.CUDA:
        raise SystemExit(f"no CUDA session: {prov.fallback_cause()}")
    worst = 0.0
    for batch in BUCKETS:
        # a CUDA-graph session captures one shape: a fresh session per bucket
        session = cuda if not cuda_graph else create_session(
            model, [prov.CUDA], None, SessionSettings(cuda_graph=True))
        runner = BoundRunner(session, "z", "images", device="cuda")
        z = latents_for_seeds(range(batch), int(session.get_inputs()[0].shape[1]))
        (expected,) = cpu.run(["images"], {"z": z})
        for _ in range(2):  # the second call replays the captured graph
            got = runner(z).astype(np.float32)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1.0)
    args = parser.parse_args()
    model = next(m for m in suite.SUITE if m.name == "dcgan-64-rgb")
    with tempfile.TemporaryDirectory() as tmp:
        built = suite.build(model, Path(tmp))
        files = {"fp32": built.fp32, **({"fp16": built.variants["fp16/float"]}
                                        if "fp16/float" in built.variants else {})}
        failed = False
        for precision, path in files.items():
            for graph in (False, True):
                err = parity(path, built.fp32, precision, graph)
                ok = err <= TOLERANCE[precision]
                failed |= not ok
                print(f"parity CUDA{' graph' if graph else ''} {precision} vs CPU fp32: max abs "
                      f"{err:.2e} ({'ok' if ok else 'FAIL'}, tolerance {TOLERANCE[precision]:g})")
        candidates = model_candidates(list(files.values()), ["cpu", "cuda"])
        rows = run_bench(candidates, model.config.latent_dim, BenchConfig(budget_s=args.budget))
        print(render_markdown(rows))
        for note in built.notes:
            print(f"note: {note}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
