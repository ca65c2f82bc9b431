"""``ganedge serve``: the model as an HTTP service on Ray Serve, with dynamic batching; the ray
extra. See :mod:`ganedge.ray.service` for the endpoints."""

from __future__ import annotations

import errno
import signal
import socket
import threading
from pathlib import Path

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import QUIET, VERSION, one_line_errors
from ganedge.cli.ray_logs import ray_log_lines_off
from ganedge.errors import InputError

DEFAULT_PORT = 8000
APP_NAME = "ganedge"


@one_line_errors(aliases={"num_cpus": "--cpus-per-replica", "num_gpus": "--gpus-per-replica",
                          "max_images": "--max-images"})
def serve(
    model: Path = opt.MODEL,
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="Address to listen "
                             "on (0.0.0.0: every interface)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", metavar="PORT", help="TCP port."),
    replicas: int = typer.Option(1, "--replicas", metavar="N", help="Replicas, each with its "
                                 "own session."),
    cpus: float = typer.Option(1.0, "--cpus-per-replica", metavar="C",
                               help="CPUs Ray reserves per replica: also its default "
                               "--threads, and the threads that encode a batch's PNGs."),
    gpus: float = typer.Option(0.0, "--gpus-per-replica", metavar="G",
                               help="GPUs per replica (Ray sets CUDA_VISIBLE_DEVICES)."),
    max_batch_size: int = typer.Option(16, "--max-batch-size", metavar="B", help="Images per "
                                       "session run across requests; 1 turns batching off."),
    batch_wait_ms: float = typer.Option(5.0, "--batch-wait-ms", metavar="MS", help="How long "
                                        "a batch waits for more images before it runs."),
    max_images: int = typer.Option(64, "--max-images", metavar="N",
                                   help="Images per POST /generate request."),
    address: str = typer.Option(None, "--address", metavar="ADDR", help="Ray cluster to join "
                                "(auto: the one on this machine) [default: start a local one]."),
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Serve the model over HTTP on Ray Serve, batching concurrent requests together.

    GET /sample?seed=42&truncation=0.7&label=3 (a PNG, the bytes `ganedge sample` writes),
    POST /generate {"seeds": [1, 2]} or {"latents": [[...]]} (base64 PNGs in JSON), GET /info
    (the contract), GET /healthz. Ctrl-C or SIGTERM stops it. Needs the ray extra:
    pip install 'ganedge[ray]'.
    """
    from ganedge.ray.cluster import joined, quiet_ray_logs, require_serve
    from ganedge.ray.http import Limits
    from ganedge.ray.service import ServeConfig, build_app

    ray_serve = require_serve("`ganedge serve`")
    gen = opt.open_model(model, "cpu", 1, False, None, quiet=True)  # checked before Ray starts
    config = ServeConfig(model=str(gen.path.resolve()), replicas=replicas, num_cpus=cpus,
                         num_gpus=gpus, provider=provider, threads=threads,
                         max_batch_size=max_batch_size, batch_wait_ms=batch_wait_ms,
                         limits=Limits(max_images=max_images))
    _check_free(host, port)
    stop = threading.Event()
    quiet_ray_logs()
    with ray_log_lines_off(quiet), joined(address) as own_cluster, _stop_on_signals(stop):
        ray_serve.start(http_options={"host": host, "port": port})
        ray_serve.run(build_app(config), name=APP_NAME, route_prefix="/", blocking=False)
        if not quiet:
            typer.echo(f"serving {gen.path.name} on http://{host}:{port} ({replicas} "
                       f"replica(s), batches of up to {max_batch_size}); Ctrl-C stops it",
                       err=True)
        while not stop.wait(1.0):
            pass
        # a cluster of our own goes down whole as the block ends (Serve's own shutdown waits
        # out its proxies' drain period); on a shared cluster only this application goes
        if not own_cluster:
            ray_serve.delete(APP_NAME)
    if not quiet:
        typer.echo("stopped", err=True)


def _check_free(host: str, port: int) -> None:
    """Fail before Ray starts when the address cannot be listened on."""
    if not 1 <= port <= 65535:
        raise InputError(f"must be in [1, 65535] (got {port})", param="port")
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        why = "in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or "unusable")
        raise InputError(f"cannot listen on {host}:{port} ({why}): choose another --port or "
                         "--host", param="port") from None


class _stop_on_signals:
    """SIGINT and SIGTERM set ``stop`` (instead of Ray's handlers, which print a stack dump),
    so the service shuts down in order; the previous handlers come back afterwards."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, lambda *_: self.stop.set())

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
