"""The benchmark's report: the machine it ran on, JSON/CSV for machines and tables for people."""

from __future__ import annotations

import csv
import io
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ganedge.bench.timing import OK, SCHEMA, BenchConfig, BenchRow
from ganedge.runtime.cores import physical_cores, usable_cpus
from ganedge.runtime.envinfo import package_version


def machine_info() -> dict[str, Any]:
    """The machine and software a benchmark ran on (never imports torch to ask its version)."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "physical_cores": physical_cores(),
        "logical_cpus": usable_cpus(),
        "cpu_flags": _cpu_flags(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "ort_providers": ort.get_available_providers(),
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min": load_average(),
    }
    # onnxruntime-gpu lists the CUDA provider on machines without a GPU too: ask the driver
    if "CUDAExecutionProvider" in info["ort_providers"] and (gpu := gpu_name()) != NO_GPU:
        info["gpu"] = gpu
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
    openvino = package_version("openvino")
    if openvino is not None:
        info["openvino"] = openvino
    return info


NO_GPU = "no GPU"


def gpu_name() -> str:
    """The GPU's name and driver as nvidia-smi gives them, or "no GPU" (asks no Python
    package, so it names the GPU beside figures from any candidate)."""
    try:
        done = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version",
                               "--format=csv,noheader"], capture_output=True, text=True,
                              timeout=20, check=True)
    except (OSError, subprocess.SubprocessError):
        return NO_GPU
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else NO_GPU


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), or None where the OS has none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # Windows has no load average
        return None


def oversubscribed(load: float | None = None) -> str | None:
    """Why figures measured now are unreliable (more runnable work than usable CPUs: threads of
    a timed candidate wait behind other processes, torch's at every layer), or None."""
    load = load_average() if load is None else load
    cpus = usable_cpus()
    if load is None or load <= cpus:
        return None
    return (f"load average {load:.1f} on {cpus} CPUs: other work shares this machine and every "
            "figure of this run is slowed unevenly; compare ratios only, and prefer --threads 1 "
            "and more --rounds")


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _cpu_model() -> str:
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


_FLAGS_OF_INTEREST = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
                      "amx_bf16", "amx_int8", "avx_vnni")


_KEY_FLAGS = ("avx2", "avx512_vnni", "amx_int8")  # what decides fp32 and int8 speed on x86


def _cpu_flags() -> list[str]:
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [f for f in _FLAGS_OF_INTEREST if f in have]
    return []


def to_json(rows: Sequence[BenchRow], config: BenchConfig,
            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The machine-readable report: schema, machine, settings and one object per row."""
    return {"schema": SCHEMA, "machine": machine_info(), "config": asdict(config),
            "rows": [asdict(r) for r in rows], **(extra or {})}


TABLE_COLUMNS = ("", "variant", "model", "prec", "MB", "provider used", "batch", "cold ms",
                 "p50 ms", "rounds min–max", "p90 ms", "p99 ms", "img/s", "GFLOP/s", "parity",
                 "vs eager")
UNCERTAIN = "uncertain"  # the mark of a speed-up whose spreads overlap the baseline's


def table_cells(row: BenchRow) -> list[str]:
    """One row as display strings, in TABLE_COLUMNS order (✗ rows carry their reason)."""
    if row.status != OK:
        return ["✗", row.label, row.model, row.precision, _num(row.size_mb), row.provider,
                str(row.batch), row.reason, *[""] * 8]
    return ["✓", row.label, row.model, row.precision, _num(row.size_mb),
            _short(row.provider_used), str(row.batch),
            _num(row.cold_start_ms), _num(row.p50_ms, 3), spread_text(row),
            _num(row.p90_ms, 3), _num(row.p99_ms, 3),
            _num(row.images_per_s), _num(row.gflops_per_s), _sci(row.parity_max_abs),
            speedup_text(row)]


def spread_text(row: BenchRow) -> str:
    """E.g. "43.0–47.9 (3)": the fastest and slowest round's median, and how many rounds."""
    if row.p50_low_ms is None or row.p50_high_ms is None:
        return "—"
    return f"{_num(row.p50_low_ms, 3)}–{_num(row.p50_high_ms, 3)} ({row.rounds})"


def speedup_text(row: BenchRow) -> str:
    """E.g. "1.67×", or "1.07× uncertain" when the spreads overlap; "—" without a baseline."""
    if not row.speedup:
        return "—"
    return f"{row.speedup:.2f}×" + (f" {UNCERTAIN}" if row.speedup_uncertain else "")


def render_markdown(rows: Sequence[BenchRow]) -> str:
    """A GitHub markdown table of the rows, every cell in full."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in table_cells(r)) + " |"
              for r in rows]
    return "\n".join(lines)


def render_csv(rows: Sequence[BenchRow]) -> str:
    """One CSV line per row with every BenchRow field, headed by the field names."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(BenchRow.__dataclass_fields__))
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    return buffer.getvalue()


def machine_line(info: dict[str, Any] | None = None) -> str:
    """E.g. "AMD EPYC · 2 physical cores · avx2, avx512_vnni, no amx_int8 · onnxruntime 1.31.1":
    what every figure needs beside it."""
    info = info or machine_info()
    openvino = f" · openvino {info['openvino']}" if info.get("openvino") else ""
    gpu = f" · GPU {info['gpu']}" if info.get("gpu") else ""
    return (f"{info['cpu']} · {info['physical_cores']} physical cores · {flag_text(info)} · "
            f"onnxruntime {info['onnxruntime']}{openvino}{gpu}")


def flag_text(info: dict[str, Any]) -> str:
    """The CPU's speed-relevant flags, naming the key ones it lacks ("…, no amx_int8")."""
    missing = [f for f in _KEY_FLAGS if f not in info["cpu_flags"]]
    return ", ".join([*info["cpu_flags"], *(["no " + "/".join(missing)] if missing else [])])


def _short(provider: str) -> str:
    return provider.removesuffix("ExecutionProvider")


def _num(value: float | None, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if digits is None:
        digits = 0 if value >= 100 else 1 if value >= 10 else 2
    return f"{value:,.{digits}f}"


def _sci(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"
