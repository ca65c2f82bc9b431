"""Bulk generation: one ``ganedge sample --outdir`` process vs ``ganedge.ray.generate`` on a local
Ray cluster, then a run whose worker is killed mid-way and its resume.

1. ``ganedge sample --seeds 0-(N-1) --outdir`` in one process (its default threads).
2. ``ganedge.ray.generate`` with ``--workers`` actors of one thread each on ``ray.init(num_cpus=
   --cpus)``; every file compared with step 1's, byte for byte.
3. The same run into a new folder; once a third of the files exist, one worker actor is killed
   with SIGKILL. Ray restarts the actor and retries its unit (finished files are skipped); a
   second call then finds everything done. Files compared with step 1's again.

Prints one JSON object. Usage:
    python -m benchmarks.bulk_ray [MODEL] [--n 20000] [--workers 2] [--cpus 2] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def timed_sample(model: str | None, n: int, outdir: Path, batch_size: int) -> float:
    args = [sys.executable, "-m", "ganedge", "sample", *([model] if model else []), "--seeds",
            f"0-{n - 1}", "--outdir", str(outdir), "--batch-size", str(batch_size), "-q"]
    began = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - began


def differing(a: Path, b: Path) -> int:
    names = sorted(p.name for p in a.glob("*.png"))
    if names != sorted(p.name for p in b.glob("*.png")):
        return -1
    return sum((a / name).read_bytes() != (b / name).read_bytes() for name in names)


def kill_a_worker_when(folder: Path, count: int, killed: list[int]) -> None:
    """SIGKILL one Ray Data worker actor of this process's own cluster (a descendant of this
    process: the raylet it started, and its workers) once ``count`` PNGs exist in ``folder``."""
    import psutil

    while len(os.listdir(folder)) < count if folder.exists() else True:
        time.sleep(0.2)
    for child in psutil.Process().children(recursive=True):
        try:
            title = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "MapWorker" in title:
            os.kill(child.pid, signal.SIGKILL)
            killed.append(child.pid)
            return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--work", type=Path, default=Path("/tmp/ganedge-bulk-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    one = args.work / "sample"
    sample_s = timed_sample(args.model, args.n, one, args.batch_size)

    import ray

    import ganedge.ray

    began = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - began
    options = {"batch_size": args.batch_size, "workers": args.workers}
    report = ganedge.ray.generate(args.model, range(args.n), args.work / "ray", **options)
    killed: list[int] = []
    watcher = threading.Thread(target=kill_a_worker_when,
                               args=(args.work / "killed", args.n // 3, killed), daemon=True)
    watcher.start()
    try:
        interrupted = ganedge.ray.generate(args.model, range(args.n), args.work / "killed",
                                           **options)
        first = {"written": interrupted.written, "error": None}
    except Exception as exc:  # a run may fail outright when Ray gives up on the unit
        first = {"written": None, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    resumed = ganedge.ray.generate(args.model, range(args.n), args.work / "killed", **options)
    ray.shutdown()
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared, loaded)",
        "images": args.n, "batch_size": args.batch_size,
        "sample_one_process": {"seconds": round(sample_s, 1),
                               "images_per_s": round(args.n / sample_s, 1)},
        "ray": {"workers": args.workers, "cluster_start_s": round(init_s, 1),
                "seconds": round(report.seconds, 1),
                "images_per_s": round(report.images_per_s, 1),
                "files_differing_from_sample": differing(one, args.work / "ray")},
        "kill": {"killed_pids": killed, "first_run": first,
                 "resume_written": resumed.written, "resume_skipped": resumed.skipped,
                 "resume_seconds": round(resumed.seconds, 1),
                 "files_differing_from_sample": differing(one, args.work / "killed")},
    }, indent=1))


if __name__ == "__main__":
    main()
