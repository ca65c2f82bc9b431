"""Load test of ``ganedge serve``: batching on vs off, interleaved, each setting alone.

Two ways in, ``--via``:

- ``http`` (the default): a fresh ``ganedge serve`` (its own local Ray cluster, one replica) per
  setting, sent ``GET /sample?seed=…`` from ``--clients`` concurrent keep-alive clients on
  loopback, then stopped with SIGTERM. Every request crosses Ray Serve's HTTP proxy.
- ``handle``: a fresh local cluster (the replica's CPUs plus one, at least 2; no HTTP proxy) per
  setting, running the same application (``ganedge.ray.build_app``), called the way Python code
  on the cluster calls it: ``--clients`` threads, each sending ``handle.sample_png.remote(seed)``
  and waiting for it.

Both send distinct seeds, a fixed request count after an uncounted warm-up, with a per-request
timeout. ``--repeats N`` runs the settings off, on, off, on, … (N of each). Reports per run:
p50/p99 latency, throughput, errors (non-200 answers, failed connections or calls), the replica's
RSS before and after (from its health counters), the mean images per session run and the CPU
time per request of each process. Writes OUT/serve_load-MODEL[-handle].{json,md} (OUT:
``--out``, default benchmarks/results; MODEL: the model file's stem, "digits" for the bundled
one), the machine (CPU, and GPU where onnxruntime has CUDA and a driver answers) named in both.

Usage:
    python -m benchmarks.serve_load [MODEL] [--via http|handle] [--requests 2000] [--clients 8]
                                    [--batch-wait-ms 5] [--max-batch-size 16] [--repeats 2]
                                    [--provider cuda --cpus-per-replica 8 --gpus-per-replica 1]
                                    [--out DIR]
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganedge.bench.report import machine_line

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
START_S = 180.0  # Ray and a replica on a loaded machine
REQUEST_TIMEOUT_S = 30.0
PNG = b"\x89PNG\r\n\x1a\n"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    answer = conn.getresponse()
    return answer.status, answer.read()


def start(model: str | None, port: int, max_batch_size: int, wait_ms: float,
          replica: Replica) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "ganedge", "serve", *([model] if model else []), "--port",
            str(port), "--max-batch-size", str(max_batch_size), "--batch-wait-ms", str(wait_ms),
            "--provider", replica.provider, "--cpus-per-replica", f"{replica.cpus:g}",
            "--gpus-per-replica", f"{replica.gpus:g}", "-q"]
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


Send = Callable[[int], bool]  # one request for a seed; True when it was answered correctly


@dataclass(frozen=True)
class Replica:
    """The replica: ONNX Runtime's provider, and the CPUs (its model's threads and PNG encoders)
    and GPUs Ray gives it."""

    provider: str = "auto"
    cpus: float = 1.0
    gpus: float = 0.0


def http_client(port: int) -> Send:
    """One keep-alive connection's sender (a new connection after a failed one)."""
    conn = [http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)]

    def send(seed: int) -> bool:
        try:
            status, png = get(conn[0], f"/sample?seed={seed}")
        except OSError:
            conn[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
            return False
        return status == 200 and png.startswith(PNG)

    return send


def load(make_client: Callable[[], Send], requests: int, clients: int,
         first_seed: int) -> dict[str, float]:
    """Send ``requests`` requests from ``clients`` threads; latencies in ms, errors counted."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(first_seed, first_seed + requests))

    def client() -> None:
        send = make_client()
        for seed in counter:  # the shared iterator hands out each seed once (GIL-atomic next)
            began = time.perf_counter()
            ok = send(seed)
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)
                errors[0] += not ok

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


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """CPU time (user + system, s) of this process and all its descendants (the clients, the
    server and its Ray processes), by pid, with the role of each; empty without Linux's /proc."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    procs: dict[int, tuple[int, str, float]] = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            stat = (folder / "stat").read_text()
            cmd = (folder / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, …
        procs[int(folder.name)] = (int(fields[1]), cmd, (int(fields[11]) + int(fields[12])) / tick)
    ours, grew = {os.getpid()}, True
    while grew:
        children = {pid for pid, (ppid, _, _) in procs.items() if ppid in ours} - ours
        ours |= children
        grew = bool(children)
    return {pid: (_role(pid, procs[pid][1]), procs[pid][2]) for pid in ours if pid in procs}


def _role(pid: int, cmd: str) -> str:
    if pid == os.getpid():
        return "clients"  # the load threads (and, via handle, Ray's handle router)
    if "ServeReplica" in cmd:
        return "replica"
    if "ProxyActor" in cmd:
        return "HTTP proxy"
    return "rest of Ray"  # GCS, raylet, Serve controller, idle workers, the serve command


def measure(make_client: Callable[[], Send], health_now: Callable[[], dict[str, float]],
            requests: int, clients: int) -> dict[str, object]:
    """Warm up (not counted), then the counted load between two health and CPU readings."""
    load(make_client, max(clients * 8, 100), clients, first_seed=10**6)
    before, cpu_before = health_now(), cpu_seconds()
    result = load(make_client, requests, clients, first_seed=0)
    cpu_after, after = cpu_seconds(), health_now()
    cpu: dict[str, float] = {}
    for pid, (role, seconds) in cpu_after.items():
        cpu[role] = cpu.get(role, 0.0) + seconds - cpu_before.get(pid, (role, 0.0))[1]
    runs = after["batches"] - before["batches"]
    return {**result,
            "cpu_ms_per_request": {role: round(1000 * seconds / requests, 2)
                                   for role, seconds in sorted(cpu.items())},
            "images_per_run": round((after["images"] - before["images"]) / max(runs, 1), 2),
            "rss_mb_before": round(before["rss_bytes"] / 2**20, 1),
            "rss_mb_after": round(after["rss_bytes"] / 2**20, 1)}


def run_http(model: str | None, max_batch_size: int, wait_ms: float, requests: int,
             clients: int, replica: Replica) -> dict[str, object]:
    port = free_port()
    process = start(model, port, max_batch_size, wait_ms, replica)
    try:
        row = measure(lambda: http_client(port), lambda: health(port), requests, clients)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    return {**row, "exit_code": process.returncode, "traceback": b"Traceback" in stderr}


def run_handle(model: str | None, max_batch_size: int, wait_ms: float, requests: int,
               clients: int, replica: Replica) -> dict[str, object]:
    import ray
    from ray import serve

    from ganedge.ray import ServeConfig, build_app
    from ganedge.ray.cluster import quiet_ray_logs
    from ganedge.runtime.model import default_model_path

    path = str(Path(model).resolve()) if model else str(default_model_path())
    quiet_ray_logs(quiet=True)
    # the replica's CPUs, and one for Serve's controller
    ray.init(num_cpus=max(2, math.ceil(replica.cpus) + 1), include_dashboard=False,
             log_to_driver=False)
    try:
        serve.start(proxy_location="Disabled")
        app = build_app(ServeConfig(model=path, max_batch_size=max_batch_size,
                                    batch_wait_ms=wait_ms, provider=replica.provider,
                                    num_cpus=replica.cpus, num_gpus=replica.gpus))
        handle = serve.run(app, name="ganedge", route_prefix=None)

        def make_client() -> Send:
            def send(seed: int) -> bool:
                try:
                    png = handle.sample_png.remote(seed).result(timeout_s=REQUEST_TIMEOUT_S)
                except Exception:  # a failed call is counted, the load goes on
                    return False
                return isinstance(png, bytes) and png.startswith(PNG)
            return send

        row = measure(make_client, lambda: handle.health.remote().result(), requests, clients)
    finally:
        serve.shutdown()
        ray.shutdown()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default=None, help="default: the bundled digits")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    parser.add_argument("--via", choices=("http", "handle"), default="http")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each setting")
    parser.add_argument("--provider", default="auto", help="the replica's provider (auto, cpu, "
                        "cuda, …)")
    parser.add_argument("--cpus-per-replica", type=float, default=1.0,
                        help="CPUs Ray gives the replica: its threads and PNG encoders")
    parser.add_argument("--gpus-per-replica", type=float, default=0.0,
                        help="GPUs Ray gives the replica (1 for --provider cuda)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the tables "
                        "(default benchmarks/results)")
    args = parser.parse_args()
    replica = Replica(args.provider, args.cpus_per_replica, args.gpus_per_replica)
    run = run_http if args.via == "http" else run_handle
    settings = [("batching off", 1, 0.0), ("batching on", args.max_batch_size, args.batch_wait_ms)]
    rows: list[dict[str, Any]] = []
    for repeat in range(1, args.repeats + 1):
        for name, size, wait in settings:  # interleaved, so slow spells hit both settings
            row = run(args.model, size, wait, args.requests, args.clients, replica)
            rows.append({"setting": name, "run": repeat, "max_batch_size": size,
                         "batch_wait_ms": wait, **row})
            print(json.dumps(rows[-1]), flush=True)
    machine = machine_line()
    name = (Path(args.model).stem if args.model else "digits") + (
        "" if args.via == "http" else "-handle")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"serve_load-{name}.json").write_text(json.dumps(
        {"model": name, "via": args.via, "machine": machine, "clients": args.clients,
         "rows": rows}, indent=1))
    table = _markdown(rows, f"{name}; {machine}", args.clients, args.via)
    (args.out / f"serve_load-{name}.md").write_text(table)
    print(table)


def _markdown(rows: list[dict[str, Any]], machine: str, clients: int, via: str) -> str:
    way = ("GET /sample over loopback HTTP" if via == "http"
           else "DeploymentHandle.sample_png, no HTTP proxy")
    lines = [f"`ganedge serve`, {clients} concurrent clients, {way}; {machine}", "",
             "| setting | run | requests | errors | p50 ms | p99 ms | req/s | images/run | "
             "RSS MB before → after |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['setting']} (max {r['max_batch_size']}, wait {r['batch_wait_ms']} ms) | "
              f"{r['run']} | {r['requests']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} | "
              f"{r['throughput_rps']} | {r['images_per_run']} | {r['rss_mb_before']} → "
              f"{r['rss_mb_after']} |" for r in rows]
    # where the time goes: CPU per request of each process, against the wall time per request
    # (2 cores give at most 2 CPU ms per wall ms)
    roles = sorted({role for r in rows for role in r["cpu_ms_per_request"]})
    lines += ["", "CPU ms per request, by process:", "",
              f"| setting | run | {' | '.join(roles)} | total | wall ms per request |",
              "|---|---|" + "---|" * (len(roles) + 2)]
    for r in rows:
        cpu = r["cpu_ms_per_request"]
        lines.append(f"| {r['setting']} | {r['run']} | "
                     f"{' | '.join(str(cpu.get(role, 0.0)) for role in roles)} | "
                     f"{sum(cpu.values()):.2f} | {1000 / r['throughput_rps']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
