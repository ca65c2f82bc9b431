"""Training speed in steps/s: each preset × device × precision, through the trainer's own loop.

Each cell trains the preset from scratch in a temporary folder (samples, checkpoints and loggers
only at the end, health records at the preset's interval, as a real run) and times the steps
after ``--warmup`` steps (allocation, autotuning, the fp16 loss scale settling) up to the one
before the last (whose grid, checkpoint and health record end the run), so the figure is the
loop's sustained rate. Prints a markdown table (presets × device/precision) and writes
the figures as JSON.

    python -m benchmarks.train_speed --device cpu --precision fp32 --steps 200 --out results.json
    python -m benchmarks.train_speed --device cuda --precision fp32 fp16 bf16 --cpu-baseline \\
        --threads 2 --steps 300 --out benchmarks/results/gpu/train_speed.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from trainer.callbacks import Callback
from trainer.config import preset
from trainer.loop import Trainer

PRESETS = ("digits-dcgan", "digits-stylegan2")
PRECISIONS = ("fp32", "fp16", "bf16")


class _Clock(Callback):
    """Times the steps after ``warmup`` up to the one before the last; waits for the device at
    both ends, so queued work is counted where it ran."""

    def __init__(self, warmup: int, device: torch.device) -> None:
        self.warmup, self.device = warmup, device
        self.start = self.end = self.cpu_start = self.cpu_end = 0.0

    def on_step_end(self, trainer: Trainer, step: int, logs: dict[str, torch.Tensor]) -> None:
        if step in (self.warmup, trainer.cfg.steps - 1):
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            now, cpu = time.perf_counter(), time.process_time()
            if step == self.warmup:
                self.start, self.cpu_start = now, cpu
            else:
                self.end, self.cpu_end = now, cpu


def measure(name: str, device: str, precision: str, steps: int, warmup: int) -> dict[str, object]:
    """Steps/s of ``steps`` timed steps of preset ``name`` after ``warmup`` untimed ones."""
    # one step more than timed: the last one's sample grid, checkpoint and health record
    # (a real run's end, not its pace) fall outside the timed window
    cfg = preset(name, steps=warmup + steps + 1, device=device, precision=precision, logger="none",
                 sample_every=0, checkpoint_every=0)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, out)
        clock = _Clock(warmup, trainer.env.device)
        trainer.callbacks.append(clock)
        trainer.fit()
    skipped = dict(trainer.skipped)
    return {"preset": name, "device": device, "precision": trainer.precision,
            "batch_size": cfg.batch_size, "steps": steps,
            "steps_per_s": steps / (clock.end - clock.start),
            # this process's CPU time per step: on a shared machine, less swayed than the wall
            # clock by other jobs
            "cpu_ms_per_step": 1000 * (clock.cpu_end - clock.cpu_start) / steps,
            "skipped": skipped}


def machine() -> str:
    """The CPU (and GPU) the figures were taken on, and torch's build."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = f" · {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{cpu} · {torch.get_num_threads()} torch threads{gpu} · torch {torch.__version__}"


def table(rows: list[dict[str, object]]) -> str:
    """Markdown: one row per preset, one column per device/precision."""
    columns = list(dict.fromkeys(f"{r['device']} {r['precision']}" for r in rows))
    cells = {(r["preset"], f"{r['device']} {r['precision']}"): r["steps_per_s"] for r in rows}
    lines = ["| preset | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in dict.fromkeys(r["preset"] for r in rows):
        values = [f"{cells[name, c]:.1f}" if (name, c) in cells else "—" for c in columns]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", nargs="+", default=["cpu"], choices=("cpu", "cuda"))
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=PRECISIONS)
    parser.add_argument("--preset", nargs="+", default=list(PRESETS))
    parser.add_argument("--steps", type=int, default=200, help="timed steps per cell")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps before them")
    parser.add_argument("--cpu-baseline", action="store_true",
                        help="also time each preset on the CPU in fp32 (what GPU figures are "
                             "compared with; the CPU's fp16 is far slower than its fp32)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if "cuda" in args.device and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    cells = [(d, p) for d in args.device for p in args.precision]
    if args.cpu_baseline and ("cpu", "fp32") not in cells:
        cells.insert(0, ("cpu", "fp32"))
    rows = []
    for name in args.preset:
        for device, precision in cells:
            rows.append(measure(name, device, precision, args.steps, args.warmup))
            print(f"{name} {device} {precision}: {rows[-1]['steps_per_s']:.1f} steps/s",
                  file=sys.stderr)
            if args.out:  # after every cell: a run stopped by a time limit keeps what it measured
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2)
                                    + "\n")
    print(f"{machine()}\n\n{table(rows)}")


if __name__ == "__main__":
    main()
