"""Mode-collapse ablation on stacked digits (1,000 modes): one DCGAN, one step budget, each
countermeasure alone, WGAN-GP, hinge + spectral norm, and a combination of countermeasures.

Every row goes through the real CLI (``ganedge train`` → ``export`` → ``eval --data
stacked-digits``, 26,000 samples), one PyTorch thread per run, ``--jobs`` runs at a time. Writes
benchmarks/results/modes.{json,md,png} and the table into docs/training.md between its modes
markers.

Usage:
    python -m benchmarks.modes_ablation [--steps 1000] [--jobs 8] [--n 26000] [--weights ema|raw]
                               [--quick] [--work runs/modes]

A row (or its training) already finished in the work folder with the same settings is reused,
so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TRAINING_DOC = ROOT / "docs" / "training.md"
MARKERS = ("<!-- modes-table:start -->", "<!-- modes-table:end -->")
# the digits-dcgan preset's DCGAN (base width 16) with nothing switched on; an EMA that forgets
# fast enough for the short budget
BASE = ("--preset", "digits-dcgan", "--data", "stacked-digits", "--threads", "1", "--ema", "0.995")
NONE = ("--reg", "none")  # clears the preset's own regularizer (R1)
COUNTERMEASURES = {  # name → the train flags that switch it on (and nothing else)
    "feature matching": ("--reg", "feature_matching"),
    "minibatch discrimination": ("--reg", "minibatch_discrimination"),
    "historical averaging": ("--reg", "historical_averaging"),
    "PacGAN (pack 2)": ("--pack", "2", *NONE),
}
BASELINES = {
    "none": NONE,
    **COUNTERMEASURES,
    "WGAN-GP": ("--loss", "wasserstein", "--reg", "wgan_gp"),
    "hinge + spectral norm": ("--loss", "hinge", "--reg", "spectral_norm"),
    "R1 (γ 1)": ("--reg", "r1"),
    # the combination, chosen before this run: packing (the one countermeasure reported at all
    # 1,000 Stacked MNIST modes) with the penalty that made the digits preset
    "PacGAN (pack 2) + R1 (γ 1)": ("--pack", "2", "--reg", "r1"),
}


@dataclass
class Row:
    """One configuration's flags and, once run, its figures."""

    name: str
    flags: tuple[str, ...]
    figures: dict[str, Any] = field(default_factory=dict)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="generator steps per row")
    parser.add_argument("--jobs", type=int, default=8, help="rows trained at once")
    parser.add_argument("--n", type=int, default=26_000, help="samples scored per row")
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema",
                        help="generator exported and scored: the EMA one, or raw (short runs, "
                        "where the average still remembers the initial weights)")
    parser.add_argument("--quick", action="store_true", help="tiny run: 20 steps, 2,000 samples,"
                        " results under the work folder, docs untouched")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "modes")
    args = parser.parse_args()
    steps, n = (20, 2000) if args.quick else (args.steps, args.n)
    out = args.work / "results" if args.quick else RESULTS
    rows = [Row(name, flags) for name, flags in BASELINES.items()]
    started = time.perf_counter()
    run_rows(rows, steps, n, args)
    report = {"steps": steps, "n": n, "jobs": args.jobs, "weights": args.weights,
              "machine": machine(),
              "total_wall_s": time.perf_counter() - started, "base_flags": list(BASE),
              "rows": [{"name": r.name, "flags": list(r.flags), **r.figures} for r in rows]}
    write_results(report, out, update_readme=not args.quick)


def run_rows(rows: list[Row], steps: int, n: int, args: argparse.Namespace) -> None:
    """Train, export and score every row, ``args.jobs`` at a time."""
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        scored = pool.map(lambda r: run_row(r, steps, n, args.work, args.weights), rows)
        for row, figures in zip(rows, scored):
            row.figures = figures


def run_row(row: Row, steps: int, n: int, work: Path, weights: str) -> dict[str, Any]:
    """Figures of one row, with the wall and CPU seconds of its training."""
    folder = work / row.name.replace(" ", "_").replace("(", "").replace(")", "").replace("+", "and")
    folder.mkdir(parents=True, exist_ok=True)
    done = folder / "figures.json"  # a finished row of the same settings is not run again
    settings = {"flags": list(row.flags), "steps": steps, "n": n, "weights": weights}
    if done.is_file() and json.loads(done.read_text())["settings"] == settings:
        return json.loads(done.read_text())["figures"]
    log = (folder / "log.txt").open("a")
    train = trained(log, folder, row, steps)
    ganedge(log, "export", str(folder / "ckpt.pt"), "-o", str(folder / "model.onnx"),
            "--no-optimize", "--weights", weights)
    scored = ganedge(log, "eval", str(folder / "model.onnx"), "--data", "stacked-digits", "-n",
                     str(n), "-o", str(folder / "eval.json"), "--grid", str(folder / "grid.png"))
    result = json.loads((folder / "eval.json").read_text())
    fig = result["figures"]
    figures = {"modes": fig["modes (of 1000)"]["value"],
               "modes_floor": fig["modes (of 1000)"]["floor"],
               "kl": fig["KL(modes||uniform)"]["value"],
               "kl_floor": fig["KL(modes||uniform)"]["floor"],
               "fd": fig["FD"]["value"], "fd_floor": fig["FD"]["floor"],
               "train_wall_s": train["wall_s"], "train_cpu_s": train["cpu_s"],
               "eval_wall_s": scored["wall_s"], "eval_cpu_s": scored["cpu_s"],
               "histograms": result["protocol"]["stacked_modes"]["channel_histograms"]["generated"]}
    done.write_text(json.dumps({"settings": settings, "figures": figures}) + "\n")
    print(f"{row.name}: modes {figures['modes']:.0f}/1000, KL {figures['kl']:.3f}, FD "
          f"{figures['fd']:.2f} (floor {figures['fd_floor']:.2f}), train {train['wall_s']:.0f} s "
          f"wall / {train['cpu_s']:.0f} s CPU", flush=True)
    return figures


def trained(log: Any, folder: Path, row: Row, steps: int) -> dict[str, float]:
    """Train the row unless train.json records a finished run of it; its wall and CPU seconds."""
    record = folder / "train.json"
    if record.is_file() and (folder / "ckpt.pt").is_file():
        saved = json.loads(record.read_text())
        if saved["steps"] == steps:
            return saved
    train = ganedge(log, "train", "--out", str(folder), *BASE, *row.flags, "--steps", str(steps),
                    "--no-progress")
    record.write_text(json.dumps({"steps": steps, **train}) + "\n")
    return train


def ganedge(log: Any, *args: str) -> dict[str, float]:
    """Run one ``ganedge`` command, logging its output; its wall and CPU (user + sys) seconds."""
    print("+ ganedge", " ".join(args), file=log, flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ganedge", *args], stdout=log,
                            stderr=subprocess.STDOUT, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"ganedge {args[0]} failed (exit {proc.returncode}); see {log.name}")
    return {"wall_s": time.perf_counter() - started, "cpu_s": usage.ru_utime + usage.ru_stime}


def machine() -> dict[str, str]:
    """CPU model and the instruction sets that matter to the figures."""
    info = {"python": platform.python_version(), "cores": str(os.cpu_count())}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "unknown")
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    isa = [name for name, flag in (("AVX2", "avx2"), ("AVX-512 VNNI", "avx512_vnni"),
                                   ("AMX", "amx_tile")) if flag in flags]
    return {**info, "cpu": model, "isa": ", ".join(isa) or "none of AVX2/AVX-512 VNNI/AMX"}


def table(report: dict[str, Any]) -> str:
    """The ablation as a Markdown table, real data's floor first."""
    rows = report["rows"]
    floor = rows[0]
    lines = ["| configuration | modes (of 1,000) | KL(modes ‖ uniform) | FD | FD ÷ floor | "
             "train wall s | train CPU s |", "|---|---:|---:|---:|---:|---:|---:|",
             f"| real stacked digits (floor) | {floor['modes_floor']:.0f} | "
             f"{floor['kl_floor']:.3f} | {floor['fd_floor']:.2f} | 1.0 | | |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['modes']:.0f} | {r['kl']:.3f} | {r['fd']:.2f} | "
                     f"{r['fd'] / r['fd_floor']:.1f} | {r['train_wall_s']:.0f} | "
                     f"{r['train_cpu_s']:.0f} |")
    m = report["machine"]
    lines.append(f"\n{report['steps']} generator steps per row (batch 64, DCGAN base width 16), "
                 f"{report['weights']} generator weights (EMA decay 0.995), {report['n']:,} "
                 "samples scored; "
                 "one PyTorch thread per run, "
                 f"{report['jobs']} runs at a time on a shared machine ({m.get('cpu')}, "
                 f"{m.get('cores')} cores, {m.get('isa')}). Reproduce: `python "
                 f"-m benchmarks.modes_ablation --steps {report['steps']} --n {report['n']} "
                 f"--weights {report['weights']}`.")
    return "\n".join(lines)


def write_results(report: dict[str, Any], out: Path, update_readme: bool) -> None:
    """modes.json, modes.md and modes.png under ``out``; the table into docs/training.md."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "modes.json").write_text(json.dumps(report, indent=2) + "\n")
    text = table(report)
    (out / "modes.md").write_text(text + "\n")
    plot(report, out / "modes.png")
    print(text)
    if update_readme:
        doc = TRAINING_DOC.read_text()
        start, end = doc.index(MARKERS[0]) + len(MARKERS[0]), doc.index(MARKERS[1])
        TRAINING_DOC.write_text(doc[:start] + "\n" + text + "\n" + doc[end:])


def plot(report: dict[str, Any], path: Path) -> None:
    """Modes covered and KL per configuration, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["rows"]
    names = [r["name"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * len(rows) + 1.5), sharey=True)
    left.barh(names, [r["modes"] for r in rows], color="tab:blue")
    left.axvline(rows[0]["modes_floor"], color="k", ls="--", label="real data")
    left.set_xlabel("modes covered (of 1,000)")
    left.invert_yaxis()
    left.legend(loc="lower right")
    right.barh(names, [r["kl"] for r in rows], color="tab:orange")
    right.axvline(rows[0]["kl_floor"], color="k", ls="--", label="real data")
    right.set_xlabel("KL(generated modes ‖ uniform), nats")
    right.legend(loc="lower right")
    fig.suptitle(f"Stacked digits, {report['steps']} steps per configuration")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
