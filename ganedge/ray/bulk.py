"""Bulk generation on Ray Data: seeds → images on many workers, written as files that a re-run
skips.

The seeds are cut into work units (one session run of ``batch_size`` seeds for PNG files, one
shard for Parquet/WebDataset). A Ray Data ``map_batches`` stage runs one callable class per
worker (an actor): it loads the model once, renders each unit through
:meth:`ganedge.GeneratorModel.sample` with every run padded to exactly ``batch_size`` rows (so a
worker's session sees one input shape), and writes the unit's outputs itself; only a count per
unit comes back to the caller, so memory stays at one batch per worker whatever the seed count.

Outputs are named by what they hold and written atomically (a temporary name, then a rename), so
a killed worker leaves no half-written file under a final name, Ray's retry of its unit and a
re-run both skip what exists, and the folder's ``_ganedge-run.json`` refuses a re-run whose images
would differ. PNG files are the very bytes ``ganedge sample --seeds … --outdir`` writes.
"""

from __future__ import annotations

import io
import json
import math
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganedge import budgets, errors
from ganedge.budgets import check_float, check_int
from ganedge.errors import GanEdgeError, InputError, OutputError
from ganedge.io.files import atomic_path, check_folder, make_folder, os_errors
from ganedge.io.imaging import provenance_text, seed_png_name
from ganedge.ray.cluster import check_fits, joined, require_data
from ganedge.runtime.providers import PROVIDER_CHOICES
from ganedge.sampling.latents import SeedRanges, check_truncation, format_seeds, seed_ranges

FORMATS = ("png", "parquet", "webdataset")
SHARD_SUFFIX = {"parquet": ".parquet", "webdataset": ".tar"}
MANIFEST = "_ganedge-run.json"  # a leading _ : Parquet readers skip it when reading the folder
MANIFEST_VERSION = 1
DEFAULT_BATCH_SIZE = 64
DEFAULT_SHARD_SIZE = 1000  # images per Parquet/WebDataset shard: a few MB for 64² RGB
MAX_WORKERS = 10_000
_WORKER_ERROR = re.compile(r"^ganedge\.errors\.(\w+): (.+)$", re.MULTILINE)
UNITS_PER_BLOCK = 64  # work units per Ray block: a retried block redoes (skips) at most this many


@dataclass(frozen=True)
class BulkJob:
    """What every worker needs for its share of a run (sent to each actor once)."""

    model: str  # absolute path of the model file, readable on every node
    seeds: SeedRanges  # the run's seeds in order, as ranges (a billion seeds cost nothing)
    outdir: str  # absolute folder that every node writes into
    format: str  # "png", "parquet" or "webdataset"
    truncation: float  # ψ of every image
    label: int | None  # one class for every image, or None: seed % num_classes
    batch_size: int  # rows per session run; every run is padded to exactly this many
    shard_size: int  # images per Parquet/WebDataset shard
    provider: str  # ONNX Runtime provider in the workers ("auto": CUDA when it runs)
    threads: int | None  # ONNX Runtime intra-op threads per worker
    text: tuple[tuple[str, str], ...]  # PNG text chunks of `ganedge sample` (seed added per file)

    @property
    def unit_size(self) -> int:
        """Seeds per work unit: one session run for PNG files, one shard otherwise."""
        return self.batch_size if self.format == "png" else self.shard_size

    @property
    def num_units(self) -> int:
        return math.ceil(len(self.seeds) / self.unit_size)


@dataclass(frozen=True)
class BulkReport:
    """What a run did: images written now, images found done by an earlier run, wall time."""

    outdir: Path
    format: str
    images: int  # seeds in the run
    written: int  # images rendered and written by this call
    skipped: int  # images already written (a resumed run)
    seconds: float  # wall time of the pipeline, cluster start-up excluded
    workers: int

    @property
    def images_per_s(self) -> float:
        """Images written per second of wall time (0 when nothing was left to write)."""
        return self.written / self.seconds if self.seconds > 0 else 0.0


def shard_name(index: int, format: str) -> str:
    """The file name of the ``index``-th shard (seeds index·shard_size onward)."""
    return f"shard-{index:06d}{SHARD_SUFFIX[format]}"


def generate(model: str | Path | None, seeds: Sequence[int], outdir: str | Path, *,
             format: str = "png", batch_size: int = DEFAULT_BATCH_SIZE,
             shard_size: int = DEFAULT_SHARD_SIZE, workers: int = 2, num_cpus: float = 1.0,
             num_gpus: float = 0.0, provider: str = "auto", threads: int | None = None,
             truncation: float = 1.0, label: int | None = None, address: str | None = None,
             on_progress: Callable[[int], None] | None = None) -> BulkReport:
    """Render ``seeds`` on a Ray cluster into ``outdir``; return what was done.

    ``format`` "png" writes one file per seed, byte-identical to ``ganedge sample --seeds …
    --outdir``; "parquet" writes ``shard-000000.parquet`` … (columns ``seed``, ``label`` for a
    conditional model, ``png``: those same PNG bytes) and "webdataset" ``shard-000000.tar`` …
    (``seed0042.png`` + ``seed0042.json`` per image, ``.cls`` too for a conditional model), each
    shard holding ``shard_size`` consecutive seeds of the list. ``workers`` actors each load the
    model once, reserve ``num_cpus`` CPUs and ``num_gpus`` GPUs (Ray then sets
    ``CUDA_VISIBLE_DEVICES``), and run ``threads`` ONNX Runtime threads (default: ``num_cpus``
    rounded down, at least 1). ``label``: one class for every image of a conditional model, or
    None for seed % num_classes. ``address`` joins a running cluster ("auto", "ray://host:10001");
    None starts a local one for this call unless this process already joined one. The model
    file and ``outdir`` must be reachable under the same path on every node (a shared file
    system). ``on_progress`` is told how many images each finished unit accounted for.

    A re-run with the same arguments skips finished outputs; one whose images would differ
    (another model, ψ, label, format; for shards also other seeds or shard size) is refused.

    Example:
        >>> import ganedge.ray
        >>> ganedge.ray.generate("model.onnx", range(20_000), "out/")   # doctest: +SKIP
        BulkReport(outdir=PosixPath('out'), format='png', images=20000, written=20000, ...)
    """
    require_data("ganedge.ray.generate")
    job, workers = _checked_job(model, seeds, outdir, format=format, batch_size=batch_size,
                                shard_size=shard_size, workers=workers, num_cpus=num_cpus,
                                num_gpus=num_gpus, provider=provider, threads=threads,
                                truncation=truncation, label=label)
    manifest = _check_manifest(job)
    with joined(address):
        check_fits("worker", cpus=num_cpus, gpus=num_gpus)  # Ray Data starts what fits
        # nothing is written before the cluster is known to run the job
        make_folder(job.outdir)
        if manifest is not None:
            with atomic_path(Path(job.outdir) / MANIFEST) as tmp:
                tmp.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        start = time.perf_counter()
        written = skipped = 0
        try:
            for done, found in _run(job, workers, num_cpus, num_gpus):
                written, skipped = written + done, skipped + found
                if on_progress is not None:
                    on_progress(done + found)
        except GanEdgeError:
            raise
        except Exception as exc:  # Ray's wrapping of a worker's failure: one line, its cause's
            raise worker_error(exc) from None
        seconds = time.perf_counter() - start
    return BulkReport(outdir=Path(outdir), format=job.format, images=len(job.seeds),
                      written=written, skipped=skipped, seconds=seconds, workers=workers)


def worker_error(exc: BaseException) -> GanEdgeError:
    """A failure inside a Ray worker as the GanEdgeError it began as, else one OutputError line.

    Ray wraps a worker's exception in its own (an actor that died in ``__init__`` keeps only
    the text of the worker's traceback), so the cause is looked for in the chain, then in the
    text's last ``ganedge.errors.…:`` line."""
    cause: BaseException | None = exc
    for _ in range(16):  # a chain is a few links; a cycle must not loop forever
        if cause is None:
            break
        if isinstance(cause, GanEdgeError):
            return type(cause)(f"a Ray worker failed: {cause.render()}")
        cause = getattr(cause, "cause", None) or cause.__cause__ or cause.__context__
    found = _WORKER_ERROR.findall(str(exc))
    kind = getattr(errors, found[-1][0], None) if found else None
    if isinstance(kind, type) and issubclass(kind, GanEdgeError):
        return kind(f"a Ray worker failed: {found[-1][1].strip()}")
    return OutputError(f"a Ray worker failed ({type(exc).__name__}): see Ray's logs under "
                       "/tmp/ray/session_latest/logs, then re-run to resume")


def _checked_job(model: str | Path | None, seeds: Sequence[int], outdir: str | Path, *,
                 format: str, batch_size: int, shard_size: int, workers: int, num_cpus: float,
                 num_gpus: float, provider: str, threads: int | None, truncation: float,
                 label: int | None) -> tuple[BulkJob, int]:
    """Every argument checked here, and the model probed with one image, before Ray starts."""
    import ganedge

    if format not in FORMATS:
        raise InputError(f"must be one of {', '.join(FORMATS)} (got {format!r})", param="format")
    seed_list = seed_ranges(seeds)
    batch_size = check_int(batch_size, "batch_size", 1, budgets.MAX_BATCH)
    shard_size = check_int(shard_size, "shard_size", 1, budgets.MAX_BATCH)
    workers = check_int(workers, "workers", 1, MAX_WORKERS)
    num_cpus = check_float(num_cpus, "num_cpus", 0.0, 1024.0)
    check_float(num_gpus, "num_gpus", 0.0, 64.0)
    truncation = check_truncation(truncation)
    if threads is not None:
        check_int(threads, "threads", 1, 1024)
    if provider not in PROVIDER_CHOICES:
        raise InputError(f"must be one of {', '.join(PROVIDER_CHOICES)} (got {provider!r})",
                         param="provider")
    check_folder(outdir, "outdir")
    # one image through the public API checks the contract, ψ, the label and the batch's bytes
    # as the workers' calls will meet them (on the CPU: this machine may have no GPU; OpenVINO
    # itself, since it reads fewer files than ONNX Runtime)
    gen = ganedge.load(model, provider="openvino" if provider == "openvino" else "cpu",
                       threads=1)
    gen.sample([seed_list[0]], truncation=truncation, labels=label, batch_size=batch_size)
    threads = threads if threads is not None else max(1, int(num_cpus))
    text = tuple(provenance_text(gen.path, truncation).items())
    job = BulkJob(model=str(gen.path.resolve()), seeds=seed_list,
                  outdir=str(Path(outdir).resolve()), format=format, truncation=truncation,
                  label=label, batch_size=batch_size, shard_size=shard_size,
                  provider=provider, threads=threads, text=text)
    # a worker more than there are units of work would load the model and wait idle
    return job, min(workers, job.num_units)


def _check_manifest(job: BulkJob) -> dict[str, object] | None:
    """The run's manifest to write, or None when an earlier run left one and it matches this
    run (InputError when it does not)."""
    path = Path(job.outdir) / MANIFEST
    want = _manifest(job)
    if path.exists():
        with os_errors(path, "read"):
            text = path.read_text(encoding="utf-8")
        try:
            have = json.loads(text)
        except ValueError:
            have = None
        if have != want:
            differ = sorted(k for k in want if not isinstance(have, dict) or have.get(k) != want[k])
            raise InputError(f"{job.outdir!r} holds another run's outputs ({MANIFEST} differs in "
                             f"{', '.join(differ) or 'its format'}): choose a new folder, or "
                             "repeat that run's arguments to resume it", param="outdir")
        return None
    return want


def _manifest(job: BulkJob) -> dict[str, object]:
    """What the folder's outputs depend on: a re-run must match it to resume."""
    text = dict(job.text)
    manifest: dict[str, object] = {
        "ganedge_bulk": MANIFEST_VERSION, "format": job.format,
        "model": text["ganedge.model"], "model_sha256": text["ganedge.model_sha256"],
        "truncation": text["ganedge.truncation"], "label": job.label}
    if job.format != "png":  # a shard's name stands for a position in the seed list
        manifest.update(seeds=format_seeds(job.seeds), shard_size=job.shard_size)
    return manifest


def _run(job: BulkJob, workers: int, num_cpus: float,
         num_gpus: float) -> Iterator[tuple[int, int]]:
    """(written, skipped) per finished unit, streamed from the Ray Data pipeline."""
    import ray

    units = np.arange(job.num_units, dtype=np.int64)
    blocks = min(len(units), max(4 * workers, math.ceil(len(units) / UNITS_PER_BLOCK)))
    ds = ray.data.from_numpy(np.array_split(units, blocks))
    ds = ds.map_batches(UnitWriter, fn_constructor_args=(job,), batch_size=1,
                        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=num_cpus,
                        num_gpus=num_gpus or None)
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for done, found in zip(batch["written"], batch["skipped"]):
            yield int(done), int(found)


class UnitWriter:
    """The Ray Data callable class: one per worker, the model loaded once in ``__init__``."""

    def __init__(self, job: BulkJob) -> None:
        import ganedge

        self.job = job
        self.gen = ganedge.load(job.model, provider=job.provider, threads=job.threads)
        self.text = dict(job.text)
        self.outdir = Path(job.outdir)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Render and write the batch's units; return (written, skipped) counts per unit."""
        counts = [self.unit(int(unit)) for unit in batch["data"]]
        return {"written": np.array([c[0] for c in counts], np.int64),
                "skipped": np.array([c[1] for c in counts], np.int64)}

    def unit(self, index: int) -> tuple[int, int]:
        size = self.job.unit_size
        seeds = self.job.seeds[index * size : (index + 1) * size]
        if self.job.format == "png":
            return self._pngs(list(seeds))
        path = self.outdir / shard_name(index, self.job.format)
        if path.exists():
            return 0, len(seeds)
        with atomic_path(path, "outdir") as tmp:
            write = _write_parquet if self.job.format == "parquet" else _write_tar
            write(tmp, self._rows(seeds))
        return len(seeds), 0

    def _pngs(self, seeds: list[int]) -> tuple[int, int]:
        from ganedge.io.imaging import save_png

        todo = [s for s in seeds if not (self.outdir / seed_png_name(s)).exists()]
        if todo:
            for s, image in zip(todo, self.render(todo)):
                save_png(image, self.outdir / seed_png_name(s),
                         {"ganedge.seed": str(s), **self.text})
        return len(todo), len(seeds) - len(todo)

    def render(self, seeds: list[int]) -> np.ndarray:
        """uint8 (len(seeds), H, W, C) in one session run of exactly ``batch_size`` rows: the
        rows past the seeds repeat the last one (each row is computed alone, so the seeds'
        images are the same as unpadded)."""
        padded = seeds + [seeds[-1]] * (self.job.batch_size - len(seeds))
        return self.gen.sample(padded, truncation=self.job.truncation, labels=self.job.label,
                               batch_size=self.job.batch_size)[: len(seeds)]

    def _rows(self, seeds: SeedRanges) -> Iterator[tuple[list[int], list[int] | None,
                                                         list[bytes]]]:
        """(seeds, class ids or None, PNG bytes) per session run of a shard."""
        from ganedge.io.imaging import png_bytes

        classes = self.gen.contract.num_classes
        for i in range(0, len(seeds), self.job.batch_size):
            chunk = list(seeds[i : i + self.job.batch_size])
            images = self.render(chunk)
            labels = None if not classes else [
                self.job.label if self.job.label is not None else s % classes for s in chunk]
            yield chunk, labels, [png_bytes(image, {"ganedge.seed": str(s), **self.text})
                                  for s, image in zip(chunk, images)]


def _write_parquet(path: Path, rows: Iterator[tuple[list[int], list[int] | None,
                                                    list[bytes]]]) -> None:
    """One row group per session run: the writer holds one batch at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for seeds, labels, pngs in rows:
            columns = {"seed": pa.array(seeds, pa.int64())}
            if labels is not None:
                columns["label"] = pa.array(labels, pa.int64())
            columns["png"] = pa.array(pngs, pa.binary())
            table = pa.table(columns)
            if writer is None:
                writer = pq.ParquetWriter(str(path), table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def _write_tar(path: Path, rows: Iterator[tuple[list[int], list[int] | None,
                                                list[bytes]]]) -> None:
    """WebDataset's layout: the files of one image share a key (``seed0042.png``, ``.json``)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for seeds, labels, pngs in rows:
            for row, (seed, png) in enumerate(zip(seeds, pngs)):
                key = seed_png_name(seed).removesuffix(".png")
                meta = {"seed": seed, **({"label": labels[row]} if labels is not None else {})}
                members = [(".png", png), (".json", json.dumps(meta).encode())]
                if labels is not None:
                    members.append((".cls", str(labels[row]).encode()))
                for suffix, data in members:
                    _add(tar, key + suffix, data)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0  # the same shard, byte for byte
    tar.addfile(info, io.BytesIO(data))


