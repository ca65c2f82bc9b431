"""Load test of ``ganedge serve`` on loopback: batching on vs off, side by side in one run.

For each setting a fresh ``ganedge serve`` (its own local Ray cluster, one replica) is started,
warmed up, and sent ``--requests`` ``GET /sample?seed=…`` requests (distinct seeds) from
``--clients`` concurrent keep-alive clients; then it is stopped with SIGTERM. Reports per setting:
p50/p99 latency, throughput, errors (non-200 answers and failed connections), the replica's RSS
before and after (from /healthz) and the mean images per session run. Bounded: a fixed request
count, a per-request timeout, loopback only. Writes benchmarks/results/serve_load-MODEL.{json,md}
(MODEL: the model file's stem, "digits" for the bundled one).

Usage:
    python benchmarks/serve_load.py [MODEL] [--requests 2000] [--clients 8]
                                    [--batch-wait-ms 5] [--max-batch-size 16]
"""

from __future__ import annotations

import argparse
import http.client
import json
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START_S = 180.0  # Ray and a replica on a loaded machine
REQUEST_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    answer = conn.getresponse()
    return answer.status, answer.read()


def start(model: str | None, port: int, max_batch_size: int,
          wait_ms: float) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "ganedge", "serve", *([model] if model else []), "--port",
            str(port), "--max-batch-size", str(max_batch_size), "--batch-wait-ms", str(wait_ms),
            "-q"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and process.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if get(conn, "/healthz")[0] == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"ganedge serve did not come up: {process.communicate()[1].decode()[-500:]}")


def health(port: int) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    return json.loads(get(conn, "/healthz")[1])


def load(port: int, requests: int, clients: int, first_seed: int) -> dict[str, float]:
    """Send ``requests`` GET /sample from ``clients`` threads; latencies in ms, errors counted."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(first_seed, first_seed + requests))

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        for seed in counter:  # the shared iterator hands out each seed once (GIL-atomic next)
            began = time.perf_counter()
            try:
                status, _ = get(conn, f"/sample?seed={seed}")
            except OSError:
                status = 0
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)
                errors[0] += status != 200

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - began
    latencies.sort()

    def pick(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {"requests": len(latencies), "errors": errors[0], "seconds": round(seconds, 2),
            "throughput_rps": round(len(latencies) / seconds, 1),
            "p50_ms": round(pick(0.50), 1), "p99_ms": round(pick(0.99), 1)}


def run_setting(name: str, model: str | None, max_batch_size: int, wait_ms: float,
                requests: int, clients: int) -> dict[str, object]:
    port = free_port()
    process = start(model, port, max_batch_size, wait_ms)
    try:
        load(port, max(clients * 8, 100), clients, first_seed=10**6)  # warm-up, not counted
        before = health(port)
        result = load(port, requests, clients, first_seed=0)
        after = health(port)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    runs = after["batches"] - before["batches"]
    return {"setting": name, "max_batch_size": max_batch_size, "batch_wait_ms": wait_ms,
            **result,
            "images_per_run": round((after["images"] - before["images"]) / max(runs, 1), 2),
            "rss_mb_before": round(before["rss_bytes"] / 2**20, 1),
            "rss_mb_after": round(after["rss_bytes"] / 2**20, 1),
            "exit_code": process.returncode, "traceback": b"Traceback" in stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default=None, help="default: the bundled digits")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    args = parser.parse_args()
    rows = [run_setting("batching off", args.model, 1, 0.0, args.requests, args.clients),
            run_setting("batching on", args.model, args.max_batch_size, args.batch_wait_ms,
                        args.requests, args.clients)]
    machine = f"{platform.processor() or platform.machine()}, {_cpu_name()}"
    name = Path(args.model).stem if args.model else "digits"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"serve_load-{name}.json").write_text(json.dumps(
        {"model": name, "machine": machine, "clients": args.clients, "rows": rows}, indent=1))
    table = _markdown(rows, f"{name}; {machine}", args.clients)
    (RESULTS / f"serve_load-{name}.md").write_text(table)
    print(table)


def _markdown(rows: list[dict[str, object]], machine: str, clients: int) -> str:
    head = ("| setting | requests | errors | p50 ms | p99 ms | req/s | images/run | RSS MB "
            "before → after |\n|---|---|---|---|---|---|---|---|\n")
    body = "".join(f"| {r['setting']} (max {r['max_batch_size']}, wait {r['batch_wait_ms']} ms) "
                   f"| {r['requests']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} | "
                   f"{r['throughput_rps']} | {r['images_per_run']} | {r['rss_mb_before']} → "
                   f"{r['rss_mb_after']} |\n" for r in rows)
    return f"`ganedge serve`, {clients} concurrent clients, loopback; {machine}\n\n{head}{body}"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
