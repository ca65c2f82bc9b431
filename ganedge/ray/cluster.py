"""Ray as an optional dependency: imported only when a Ray feature is used, and a cluster joined
for the length of one call when the caller has not joined one."""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import sys
from collections.abc import Iterator
from types import ModuleType

from ganedge.errors import InputError, MissingExtraError

RAY_EXTRA_HINT = "pip install 'ganedge[ray]'"
RAY_TOKEN_NOTICE_LOGGER = "ray._private.authentication.authentication_token_setup"


def require_ray(what: str) -> ModuleType:
    """The ray module (Ray core), or MissingExtraError naming ``what`` needs it and the extra that
    brings it."""
    return _require(what, "ray")


def require_data(what: str) -> ModuleType:
    """The ray module with Ray Data loaded (bulk generation: pandas and pyarrow come with it), or
    MissingExtraError with the install line."""
    ray = require_ray(what)
    _require(what, "ray.data")
    return ray


def require_serve(what: str) -> ModuleType:
    """ray.serve and its HTTP layer, or MissingExtraError with the install line. Serving needs
    no Ray Data (pandas, pyarrow): a ``ray[serve]`` install is enough."""
    require_ray(what)
    _require(what, "starlette")  # the HTTP layer the service answers with
    return _require(what, "ray.serve")


def _require(what: str, module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(f"{what} needs the {exc.name or module} package, which is not "
                                f"installed: {RAY_EXTRA_HINT} brings it") from None


@contextlib.contextmanager
def joined(address: str | None, num_cpus: int | None = None) -> Iterator[bool]:
    """Use the Ray cluster this process already joined; else join ``address`` ("auto": the one
    running on this machine; None: start a local one) and leave it again afterwards, so the
    host process ends as it began. Yields whether the cluster is this call's own (a local one
    it started, gone when the block ends). Ray's own INFO lines stay off (library code never
    prints): its logging level is WARNING when ganedge is the one that starts it."""
    ray = require_ray("a Ray cluster")
    if ray.is_initialized():
        yield False
        return
    if address is not None:
        _probe(address)
    try:
        # never below WARNING, nor below what the caller set for Ray (the CLI's -q: CRITICAL)
        level = max(logging.WARNING, logging.getLogger("ray").level)
        ray.init(address=address, num_cpus=num_cpus if address is None else None,
                 include_dashboard=False, log_to_driver=False, logging_level=level)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        text = " ".join(str(exc).split())[:200]
        raise InputError(f"cannot join the Ray cluster {address!r} ({text}): start one with "
                         "`ray start --head`, or leave the address unset for a local one",
                         param="address") from None
    try:
        yield address is None
    finally:
        ray.shutdown()


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once when nothing listens at a HOST:PORT address: Ray itself reconnects for
    minutes before it gives up. "auto" (and other words Ray resolves itself) pass unprobed."""
    host, sep, port = address.split("://", 1)[-1].rpartition(":")
    if not sep or not port.isdigit() or int(port[:6]) > 65535:
        if ":" in address or "/" in address:
            raise InputError(f"{address[:80]!r} is not HOST:PORT (e.g. 10.0.0.5:6379) or auto",
                             param="address")
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError, OverflowError) as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__
        raise InputError(f"cannot join the Ray cluster {address[:80]!r}: nothing answers at "
                         f"{host[:60]}:{port[:8]} ({why}): start one with `ray start --head`, or "
                         "leave the address unset for a local one", param="address") from None


def ray_initialized() -> bool:
    """Whether this process has joined a Ray cluster (without importing Ray when it is absent)."""
    return "ray" in sys.modules and sys.modules["ray"].is_initialized()


def check_fits(unit: str, *, cpus: float, gpus: float, count: int = 1) -> None:
    """Refuse work the joined cluster can never place, which Ray would otherwise wait for
    without end: each of ``count`` ``unit``s (a worker, a replica) needs ``cpus`` CPUs and
    ``gpus`` GPUs on one node, and all ``count`` must fit in the cluster at once. Raises
    InputError naming ``num_gpus`` or ``num_cpus`` (the CLI shows its own flag)."""
    import ray

    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
    for key, need, param in (("GPU", gpus, "num_gpus"), ("CPU", cpus, "num_cpus")):
        if need <= 0:
            continue
        per_node = max((res.get(key, 0.0) for res in nodes), default=0.0)
        total = sum(res.get(key, 0.0) for res in nodes)
        what = "GPU(s)" if key == "GPU" else "CPU(s)"
        if need > per_node:
            raise InputError(f"{need:g} {what} per {unit}, but no node of the Ray cluster has "
                             f"that many (at most {per_node:g}): ask for fewer, or join a "
                             "cluster that has them (--address)", param=param)
        if need * count > total:
            raise InputError(f"{count} {unit}s × {need:g} {what} need {need * count:g}, but the "
                             f"Ray cluster has {total:g}: ask for fewer {unit}s or fewer {what} "
                             f"per {unit}", param=param)


def quiet_ray_logs(*, quiet: bool = False) -> None:
    """For the CLI's own process, which reports progress and results itself: Ray Data's progress
    bars off (when Ray Data is loaded: serving never loads it), and Ray's INFO lines and notes
    about them (dataset plans, "progress bars disabled") kept off stderr; with ``quiet`` (the
    CLI's -q) Ray's warnings and logged notes too, since a failure still reaches the user as
    ganedge's own error line. Library callers keep their Ray settings as they are."""
    if "ray.data" in sys.modules:
        sys.modules["ray.data"].DataContext.get_current().enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.CRITICAL if quiet else logging.ERROR)
    for name in ("ray", "ray.serve"):
        logging.getLogger(name).setLevel(logging.CRITICAL if quiet else logging.WARNING)
    # a notice on every cluster start that Ray's (default) token authentication is on: not a
    # problem to warn of, and it would come before ganedge's own one-line error
    logging.getLogger(RAY_TOKEN_NOTICE_LOGGER).setLevel(logging.ERROR)
