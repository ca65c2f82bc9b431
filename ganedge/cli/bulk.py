"""``ganedge bulk``: many images on a Ray cluster (Ray Data), resumable; the ray extra.

A command of its own rather than a flag of ``sample``: it writes folders only (no grid), takes
cluster options (workers, CPUs and GPUs per worker, address) and output formats that ``sample``
has no use for, and a re-run resumes instead of rewriting.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.progress import Reporter
from ganedge.cli.ray_logs import ray_log_lines_off


class Format(str, Enum):
    png = "png"
    parquet = "parquet"
    webdataset = "webdataset"


@one_line_errors(aliases={"num_cpus": "--cpus-per-worker", "num_gpus": "--gpus-per-worker",
                          "seeds": "--seeds"})
def bulk(
    model: Path = opt.MODEL,
    seeds: str = typer.Option(..., "--seeds", metavar="SPEC",
                              help="Seeds, e.g. 0-19999 or 0-63,100,200-209."),
    outdir: Path = typer.Option(..., "--outdir", metavar="DIR", help="Folder for the images: "
                                "seed0042.png per seed, or shard-000000.parquet/.tar …"),
    format: Format = typer.Option(Format.png, "--format", help="png: one file per seed (the "
                                  "bytes `ganedge sample --outdir` writes); parquet or "
                                  "webdataset: shards of --shard-size images."),
    workers: int = typer.Option(2, "--workers", metavar="N", help="Ray actors, each with its "
                                "own copy of the model."),
    cpus: float = typer.Option(1.0, "--cpus-per-worker", metavar="C",
                               help="CPUs Ray reserves per worker (also its default --threads)."),
    gpus: float = typer.Option(0.0, "--gpus-per-worker", metavar="G",
                               help="GPUs per worker (Ray sets CUDA_VISIBLE_DEVICES)."),
    batch_size: int = typer.Option(64, "--batch-size", metavar="B", help="Images per session "
                                   "run; every run is padded to B (does not change any image)."),
    shard_size: int = typer.Option(1000, "--shard-size", metavar="N",
                                   help="Images per Parquet/WebDataset shard."),
    truncation: float = opt.TRUNCATION,
    label: int = typer.Option(None, "--label", metavar="ID", help="Class id for a conditional "
                              "model [default: seed % num_classes]."),
    address: str = typer.Option(None, "--address", metavar="ADDR", help="Ray cluster to join "
                                "(auto: the one on this machine) [default: start a local one]."),
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    progress: bool = opt.PROGRESS,
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Generate many images on a Ray cluster (Ray Data): PNG files or Parquet/WebDataset shards.

    Workers load the model once and write each finished image or shard atomically; run the
    same command again after an interruption and it skips what is done. Needs the ray extra:
    pip install 'ganedge[ray]'.
    """
    from ganedge.ray.bulk import generate
    from ganedge.ray.cluster import quiet_ray_logs, require_data
    from ganedge.sampling.latents import format_seeds, parse_seeds

    require_data("`ganedge bulk`")
    seed_list = parse_seeds(seeds)
    quiet_ray_logs(quiet=quiet)
    with ray_log_lines_off(quiet), Reporter("bulk", len(seed_list), "images",
                                            enabled=progress and not quiet,
                                            to_stderr=as_json) as reporter:
        report = generate(model, seed_list, outdir, format=format.value, batch_size=batch_size,
                          shard_size=shard_size, workers=workers, num_cpus=cpus, num_gpus=gpus,
                          provider=provider, threads=threads, truncation=truncation,
                          label=label, address=address, on_progress=reporter.advance)
    if as_json:
        typer.echo(json.dumps({"outdir": str(outdir), "format": report.format,
                               "images": report.images, "written": report.written,
                               "skipped": report.skipped, "seconds": round(report.seconds, 3),
                               "images_per_s": round(report.images_per_s, 1),
                               "workers": report.workers, "seeds": format_seeds(seed_list)}))
    elif not quiet:
        typer.echo(f"wrote {outdir} ({report.written} images written, {report.skipped} already "
                   f"there; {report.images_per_s:.1f} images/s on {report.workers} workers)")
