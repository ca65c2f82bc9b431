"""Ray as an optional dependency: imported only when a Ray feature is used, and a cluster joined
for the length of one call when the caller has not joined one."""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
from collections.abc import Iterator
from types import ModuleType

from ganedge.errors import InputError, MissingExtraError

RAY_EXTRA_HINT = "pip install 'ganedge[ray]'"


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
