"""``ganedge triton``: an exported .onnx model into a Triton Inference Server model repository."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.options import LATENT_DIM
from ganedge.triton import TritonRepository, TritonSettings, write_repository
from ganedge.triton.config import INSTANCE_KINDS

InstanceKind = Literal[tuple(INSTANCE_KINDS)]  # type: ignore[valid-type]

MAX_BATCH_SIZE = typer.Option(64, "--max-batch-size", metavar="B", help="Largest batch Triton's "
                              "dynamic batcher forms, and a client may send.")
INSTANCE_KIND = typer.Option("gpu", "--instance-kind", help="Run the model on each GPU or on "
                             "the CPU.")
INSTANCES = typer.Option(1, "--instances", metavar="N", help="Model copies per GPU (or on the "
                         "CPU) running side by side.")
MAX_QUEUE_DELAY = typer.Option(2000, "--max-queue-delay-us", metavar="US", help="How long a "
                               "request may wait for others to be batched with, in µs.")
PREFERRED = typer.Option(None, "--preferred-batch-sizes", metavar="LIST", help="Batch sizes the "
                         "dynamic batcher tries to form first, e.g. 16,32,64 [default: none, as "
                         "Triton advises for ONNX Runtime].")
FORCE = typer.Option(False, "--force", help="Replace model folders that exist and are not "
                     "empty.")


@one_line_errors(aliases={"path": "MODEL", "repository": "--output"})
def triton(
    model: Path = typer.Argument(..., metavar="MODEL", help="ONNX model written by `ganedge "
                                 "export`."),
    out: Path = typer.Option(..., "-o", "--output", metavar="REPO", help="Model repository "
                             "folder (created if missing; other models in it are kept)."),
    name: str = typer.Option(None, "--name", metavar="NAME", help="Model name clients call "
                             "[default: the file's stem]."),
    max_batch_size: int = MAX_BATCH_SIZE,
    instance_kind: InstanceKind = INSTANCE_KIND,
    instances: int = INSTANCES,
    max_queue_delay_us: int = MAX_QUEUE_DELAY,
    preferred_batch_sizes: str = PREFERRED,
    latent_dim: int = LATENT_DIM,
    force: bool = FORCE,
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Write a Triton Inference Server model repository: NAME/config.pbtxt and NAME/1/model.onnx.

    The config comes from the model's contract: inputs, outputs, data types, dynamic batching,
    instances, the ONNX Runtime backend's cuDNN search (HEURISTIC: batch sizes vary), warm-up.
    A StyleGAN model becomes NAME_mapping, NAME_truncation and NAME_synthesis with an ensemble
    NAME that takes z [+ label] and psi. See docs/triton.md to serve and call it.
    """
    preferred = (opt.parse_int_list(preferred_batch_sizes, "preferred_batch_sizes")
                 if preferred_batch_sizes is not None else ())
    settings = TritonSettings(max_batch_size=max_batch_size, instance_kind=instance_kind,
                              instances=instances, max_queue_delay_us=max_queue_delay_us,
                              preferred_batch_sizes=preferred)
    repo = write_repository(model, out, name=name, settings=settings, latent_dim=latent_dim,
                            force=force)
    report(repo, settings, as_json=as_json, quiet=quiet)


def report(repo: TritonRepository, settings: TritonSettings, *, as_json: bool,
           quiet: bool) -> None:
    """Print what was written: one line per model folder, or the JSON result."""
    if as_json:
        typer.echo(json.dumps({"repository": str(repo.folder), "name": repo.name,
                               "models": list(repo.models), "settings": asdict(settings),
                               "contract": asdict(repo.contract)}))
        return
    if quiet:
        return
    for model in repo.models:
        typer.echo(f"wrote {repo.folder / model}/")
    c = repo.contract
    psi = " + psi" if c.is_stylegan else ""
    label = " + label" if c.conditional else ""
    typer.echo(f"serve it: tritonserver --model-repository={repo.folder.resolve()} (model "
               f"{repo.name!r}: {c.input_name}{label}{psi} → {c.output_name}, batches up to "
               f"{settings.max_batch_size} on {settings.instances} {settings.instance_kind} "
               "instance(s))")
