"""``ganedge serve``'s HTTP service: a Ray Serve deployment with dynamic batching.

Endpoints (all errors are 4xx/5xx with one line of JSON, ``{"error": "…"}``):

- ``GET /sample?seed=42&truncation=0.7&label=3`` → ``image/png``: the bytes ``ganedge sample
  --seeds 42 --truncation 0.7 --outdir`` writes for that seed.
- ``POST /generate`` with ``{"seeds": [1, 2, 3]}`` or ``{"latents": [[…], …]}`` (plus
  ``truncation``, ``labels``) → ``{"images": ["<base64 PNG>", …]}`` in request order (the seeds'
  PNGs are those same bytes); with ``"grid": true`` → one ``image/png`` grid of them, the bytes
  ``ganedge sample --seeds 1,2,3 --scale 1 -o grid.png`` writes.
- ``GET /info`` → the model's contract and the service's limits; ``GET /healthz`` → liveness
  and this replica's counters.

Every image of every request goes through one ``@serve.batch`` queue per replica: requests that
arrive within ``batch_wait_ms`` of each other share a session run of up to ``max_batch_size``
rows, padded to a power of two (at most that size) so a session sees few shapes; a batch's PNGs
are encoded on as many threads as the replica has CPUs (zlib releases the GIL), so a replica
with several CPUs encodes a batch in parallel where single requests would encode one by one.
Batches run one at a time per replica (ONNX Runtime keeps one cached plan per Conv kernel:
concurrent runs of different sizes would re-plan each other's), on a worker thread, so the
replica keeps answering ``/healthz`` while a batch runs. Requests are checked whole before their
first image is queued (see :mod:`ganedge.ray.http`), so one bad request never fails a batch that
others share.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import resource
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.budgets import check_float, check_int
from ganedge.errors import GanEdgeError, InputError, one_line
from ganedge.io.imaging import make_grid, png_bytes, provenance_text, to_uint8_nhwc
from ganedge.ray.cluster import check_fits, ray_initialized, require_serve
from ganedge.ray.http import (
    Job,
    Limits,
    contract_info,
    error_body,
    parse_generate,
    parse_sample,
    sample_job,
)

MAX_BATCH_SIZE = 1024
MAX_REPLICAS = 1024


@dataclass(frozen=True)
class ServeConfig:
    """One service: the model, its replicas and their batching, and the per-request limits."""

    model: str  # absolute path of the model file, readable on every node
    replicas: int = 1  # Ray Serve replicas, each with its own session
    num_cpus: float = 1.0  # CPUs Ray reserves per replica (and its PNG encoder threads)
    num_gpus: float = 0.0  # GPUs per replica (Ray sets CUDA_VISIBLE_DEVICES)
    provider: str = "auto"  # ONNX Runtime provider in the replicas
    threads: int | None = None  # ONNX Runtime threads per replica (None: num_cpus, at least 1)
    max_batch_size: int = 16  # images per session run; 1 turns batching off
    batch_wait_ms: float = 5.0  # how long a batch waits for more images before it runs
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        check_int(self.replicas, "replicas", 1, MAX_REPLICAS)
        check_float(self.num_cpus, "num_cpus", 0.0, 1024.0)
        check_float(self.num_gpus, "num_gpus", 0.0, 64.0)
        check_int(self.max_batch_size, "max_batch_size", 1, MAX_BATCH_SIZE)
        check_float(self.batch_wait_ms, "batch_wait_ms", 0.0, 10_000.0)
        if self.threads is not None:
            check_int(self.threads, "threads", 1, 1024)


def build_app(config: ServeConfig) -> Any:
    """The Ray Serve application for ``config`` (pass it to ``serve.run``).

    Example:
        >>> from ray import serve                                           # doctest: +SKIP
        >>> serve.run(build_app(ServeConfig(model="/models/g.onnx")),       # doctest: +SKIP
        ...           route_prefix="/")
    """
    import ganedge

    serve = require_serve("ganedge serve")
    if ray_initialized():  # else serve.run starts a local cluster: what it has is not known yet
        check_fits("replica", cpus=config.num_cpus, gpus=config.num_gpus, count=config.replicas)
    # the file and its contract checked here, as one error line, not as replicas failing to start
    ganedge.load(config.model, provider="openvino" if config.provider == "openvino" else "cpu",
                 threads=1)
    wait_s = config.batch_wait_ms / 1000

    # room for a full batch queued behind a running one, plus health checks
    @serve.deployment(num_replicas=config.replicas,
                      max_ongoing_requests=2 * config.max_batch_size + 8,
                      ray_actor_options={"num_cpus": config.num_cpus,
                                         "num_gpus": config.num_gpus})
    class GanedgeService(Replica):
        @serve.batch(max_batch_size=config.max_batch_size, batch_wait_timeout_s=wait_s)
        async def render(self, jobs: list[Job]) -> list[bytes | Exception]:
            return await asyncio.to_thread(self.render_batch, jobs)

    return GanedgeService.bind(config)


class Replica:
    """One replica's state and routes; :func:`build_app` adds the batched ``render`` method."""

    render: Callable[[Job], Awaitable[bytes | Exception]]  # one job in, its PNG (or error) out

    def __init__(self, config: ServeConfig) -> None:
        import ganedge

        threads = config.threads if config.threads is not None else max(1, int(config.num_cpus))
        self.config = config
        self.gen = ganedge.load(config.model, provider=config.provider, threads=threads)
        self.contract = self.gen.contract
        # the model file hashed once; only ψ differs between requests' PNG text chunks
        self._base_text = provenance_text(self.gen.path, 1.0)
        self._lock = threading.Lock()
        self.batches = self.images = 0
        encoders = max(1, int(config.num_cpus))
        self._encoders = (ThreadPoolExecutor(encoders, thread_name_prefix="ganedge-png")
                          if encoders > 1 else None)

    async def __call__(self, request: Any) -> Any:
        """Route one HTTP request; anything a client sends ends as an answer, never a crash."""
        from starlette.responses import Response

        try:
            status, body, media = await self._route(request)
        except InputError as exc:
            status, body, media = 400, error_body(str(exc)), "application/json"
        except GanEdgeError as exc:  # the model failed on valid input
            status, body, media = 500, error_body(str(exc)), "application/json"
        except Exception as exc:  # a defect of ours: still one line, and the replica lives on
            status, body, media = 500, error_body(one_line(exc)), "application/json"
        return Response(body, status_code=status, media_type=media)

    async def _route(self, request: Any) -> tuple[int, bytes, str]:
        # the path below the application's route prefix (ASGI's root_path), e.g. /gan/sample
        path, root = request.scope["path"], request.scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        path, method = path.rstrip("/") or "/", request.method
        routes = {"/sample": "GET", "/generate": "POST", "/info": "GET", "/healthz": "GET"}
        if path not in routes:
            return 404, error_body(f"no route {path[:60]!r}: use {', '.join(routes)}"), JSON
        if method != routes[path] and not (method == "HEAD" and routes[path] == "GET"):
            return 405, error_body(f"{path} takes {routes[path]} (got {method[:10]})"), JSON
        if path == "/sample":
            job = parse_sample(request.query_params.multi_items(), self.contract,
                               self.config.limits)
            return 200, self._result(await self.render(job)), "image/png"
        if path == "/generate":
            body = await _read_body(request, self.config.limits.max_body_bytes)
            if body is None:
                return 413, error_body(f"body: over {self.config.limits.max_body_bytes:,} bytes: "
                                       "ask for fewer images"), JSON
            asked = parse_generate(body, self.contract, self.config.limits)
            results = await asyncio.gather(*(self.render(job) for job in asked.jobs))
            pngs = [self._result(r) for r in results]
            if asked.grid:
                return 200, await asyncio.to_thread(grid_png, pngs), "image/png"
            images = [base64.b64encode(png).decode("ascii") for png in pngs]
            return 200, json.dumps({"images": images}).encode(), JSON
        if path == "/info":
            return 200, json.dumps(self.info()).encode(), JSON
        return 200, json.dumps(self.health()).encode(), JSON

    async def sample_png(self, seed: int, *, truncation: float = 1.0,
                         label: int | None = None) -> bytes:
        """The PNG ``GET /sample?seed=…`` answers, for Python code on the cluster, through the
        same batch queue and without the HTTP proxy: ``serve.get_app_handle("ganedge")
        .sample_png.remote(42, truncation=0.7)``. Bad values raise
        :class:`~ganedge.errors.InputError` with the message ``GET /sample`` would answer."""
        job = sample_job(seed, truncation=truncation, label=label, contract=self.contract)
        return self._result(await self.render(job))

    @staticmethod
    def _result(result: bytes | Exception) -> bytes:
        if isinstance(result, Exception):
            raise result
        return result

    def info(self) -> dict[str, object]:
        c = self.config
        text = self._text(1.0)
        return contract_info(self.contract, {
            "model": text["ganedge.model"], "model_sha256": text["ganedge.model_sha256"],
            "providers": self.gen.providers, "image_shape": list(self.gen.image_shape),
            "max_batch_size": c.max_batch_size, "batch_wait_ms": c.batch_wait_ms,
            "replicas": c.replicas, "limits": vars(c.limits)})

    def health(self) -> dict[str, object]:
        pages = int(Path("/proc/self/statm").read_text().split()[1]) if os.path.exists(
            "/proc/self/statm") else 0
        return {"status": "ok", "pid": os.getpid(), "batches": self.batches,
                "images": self.images, "rss_bytes": pages * resource.getpagesize()}

    def render_batch(self, jobs: list[Job]) -> list[bytes | Exception]:
        """PNG bytes per job (or the exception its group met): one session run per group of
        jobs with the same kind and ψ, padded to a power of two."""
        results: list[bytes | Exception] = [b""] * len(jobs)
        groups: dict[tuple[str, float], list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault(job.group(), []).append(i)
        for rows in groups.values():
            try:
                pngs = self._render_group([jobs[i] for i in rows])
            except Exception as exc:  # the whole group failed: each of its callers learns why
                pngs = [exc] * len(rows)
            for i, png in zip(rows, pngs):
                results[i] = png
        with self._lock:
            self.batches += 1
            self.images += len(jobs)
        return results

    def _render_group(self, jobs: Sequence[Job]) -> list[bytes | Exception]:
        n, psi = len(jobs), jobs[0].truncation
        bucket = min(1 << (n - 1).bit_length(), self.config.max_batch_size)
        padded = [*jobs, *[jobs[-1]] * (bucket - n)]
        labels = None if not self.contract.conditional else [j.label for j in padded]
        text = self._text(psi)
        if jobs[0].seed is not None:
            seeds = [int(j.seed) for j in padded]  # type: ignore[arg-type]
            images = self.gen.sample(seeds, truncation=psi, labels=labels, batch_size=bucket)
            return self._encode([(image, {"ganedge.seed": str(j.seed), **text})
                                 for j, image in zip(jobs, images)])
        out = self.gen.generate(np.stack([j.z for j in padded]), labels=labels, truncation=psi)
        if out.dtype != np.uint8:
            out = to_uint8_nhwc(out, self.contract.value_range)
        return self._encode([(image, text) for image in out[:n]])

    def _encode(self, items: list[tuple[np.ndarray, dict[str, str]]]) -> list[bytes | Exception]:
        """PNG bytes of (image, text chunks) in order, on the encoder threads when there are."""
        if self._encoders is None or len(items) == 1:
            return [png_bytes(image, text) for image, text in items]
        return list(self._encoders.map(lambda item: png_bytes(*item), items))

    def _text(self, psi: float) -> dict[str, str]:
        """The PNG text chunks ``ganedge sample`` writes for ψ (the seed is added per image)."""
        return {**self._base_text, "ganedge.truncation": f"{psi:g}"}


JSON = "application/json"


def grid_png(pngs: Sequence[bytes]) -> bytes:
    """One grid PNG of the images at their own size: the bytes ``ganedge sample --seeds …
    --scale 1 -o grid.png`` writes for the same images (PNG is lossless: decoding gives back the
    pixels exactly)."""
    from PIL import Image

    pixels = [np.asarray(Image.open(io.BytesIO(png))) for png in pngs]
    return png_bytes(make_grid(np.stack([p if p.ndim == 3 else p[..., None] for p in pixels])))


async def _read_body(request: Any, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes (the rest is never read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
