"""Run the whole speed suite; regenerate its JSON, PNG chart and docs/benchmarks.md table.

    python -m benchmarks.run           # full suite → benchmarks/results/ + docs/benchmarks.md
    python -m benchmarks.run --quick   # smoke test: digits model, batches 1 and 8, short budget
    python -m benchmarks.run --models dcgan-64-rgb --batch 1,64 --budget 1   # a reduced run

Every model is timed against torch eager (the baseline), torch.compile, torch bf16+channels_last,
plain ONNX Runtime and ganedge's runtime with its reduced-precision exports, in the same run, each
candidate alone in its own worker process (ganedge.bench), ``--rounds`` times in alternating
order. Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import torch

from benchmarks import probes, suite, suite_report
from ganedge.bench import BenchConfig, BenchRow, run_bench
from ganedge.bench.report import machine_info, machine_line, table_cells
from ganedge.io.files import atomic_path
from ganedge.runtime.cores import physical_cores

ROOT = Path(__file__).resolve().parent.parent
FULL = BenchConfig(batches=(1, 8, 64), budget_s=1.5, warmup_s=0.5, rounds=2)
QUICK = BenchConfig(batches=(1, 8), budget_s=0.1, warmup_s=0.05)


def main() -> None:
    args = _parse()
    config = replace(QUICK if args.quick else FULL,
                     **{k: v for k, v in (("budget_s", args.budget), ("rounds", args.rounds),
                                          ("batches", args.batch)) if v})
    names = args.models or (suite.QUICK_SUITE if args.quick else [m.name for m in suite.SUITE])
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        rows_by_model, notes, cli = _run_models(names, config, Path(tmp), args.quick, args.threads,
                                                args.torch_kinds, args.variants)
    result = {
        "schema": "ganedge.bench-suite/1",
        "mode": "quick" if args.quick else "reduced" if args.models or args.batch or args.variants
        else "full",
        "machine": machine_info(),
        "config": asdict(config),
        "threads": args.threads or physical_cores(),
        "ceilings_gflops": _ceilings(0.3 if args.quick else 2.0, args.threads),
        "cli_cold_start_ms": cli,
        "notes": notes,
        "rows": {model: [asdict(r) for r in rows] for model, rows in rows_by_model.items()},
    }
    _write(args.out, result, rows_by_model, args.docs and not args.quick)


def _batches(spec: str) -> tuple[int, ...]:
    return tuple(int(b) for b in spec.split(","))


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: one small model, short budget")
    parser.add_argument("--budget", type=float, default=None,
                        help="timed seconds per row and round")
    parser.add_argument("--rounds", type=int, default=None,
                        help="workers per candidate (default 2)")
    parser.add_argument("--batch", type=_batches, default=None, help="batch sizes, e.g. 1,64")
    parser.add_argument("--torch-kinds", type=lambda s: tuple(s.split(",")),
                        default=suite.TORCH_KINDS, help="e.g. eager,bf16 (default: all)")
    parser.add_argument("--variants", type=lambda s: tuple(s.split(",")), default=None,
                        help="only these exports, e.g. int8/float,int8/float/w8 (default: all)")
    parser.add_argument("--models", nargs="+", choices=[m.name for m in suite.SUITE],
                        help="only these suite models (a reduced run)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and ganedge (default: physical cores); 1 gives "
                             "per-core ratios that survive a machine shared with other work")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-docs", dest="docs", action="store_false",
                        help="do not rewrite the table in docs/benchmarks.md")
    return parser.parse_args()


def _run_models(names: list[str] | tuple[str, ...], config: BenchConfig, folder: Path,
                quick: bool, threads: int | None, torch_kinds: tuple[str, ...],
                variants: tuple[str, ...] | None,
                ) -> tuple[dict[str, list[BenchRow]], list[str], dict[str, float]]:
    rows_by_model: dict[str, list[BenchRow]] = {}
    notes: list[str] = []
    cli: dict[str, float] = {}
    for model in (m for m in suite.SUITE if m.name in names):
        reason = suite.skip_reason(model)
        if reason:
            notes.append(reason)
            print(reason, flush=True)
            continue
        print(f"building {model.name} …", flush=True)
        built = suite.build(model, folder, variants)
        notes += built.notes
        if not cli:
            cli = probes.cli_cold_start(built.fp32, 1 if quick else 5, folder)
        rows = run_bench(suite.candidates(built, torch_kinds, threads=threads),
                         model.config.latent_dim, config,
                         on_row=_print_row, on_progress=_progress)
        rows_by_model[model.name] = rows
    return rows_by_model, notes, cli


def _progress(line: str) -> None:
    print(f"  timing {line}", flush=True)


def _print_row(row: BenchRow) -> None:
    print("  " + " | ".join(table_cells(row)), flush=True)


def _ceilings(seconds: float, threads: int | None) -> dict[str, float]:
    return {
        "size": probes.MATMUL_SIZE,
        "torch_fp32": probes.matmul_ceiling(torch.float32, seconds, threads),
        "torch_bf16": probes.matmul_ceiling(torch.bfloat16, seconds, threads),
        "numpy_fp32": probes.numpy_matmul_ceiling(seconds),
    }


def _write(out: Path, result: dict, rows_by_model: dict[str, list[BenchRow]], docs: bool) -> None:
    with atomic_path(out / "bench.json", "--out") as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    body = suite_report.markdown(result, rows_by_model)
    with atomic_path(out / "bench.md", "--out") as tmp:
        tmp.write_text(body + "\n")
    if rows_by_model:
        suite_report.chart(rows_by_model, out / "bench.png", f"{machine_line(result['machine'])} · "
                     f"{result['mode']} run, {result['threads']} thread(s)")
    if docs:
        suite_report.update_docs(ROOT / "docs" / "benchmarks.md", body)
    print(body)
    print(f"wrote {out / 'bench.json'}, {out / 'bench.md'}, {out / 'bench.png'}")


if __name__ == "__main__":
    main()
