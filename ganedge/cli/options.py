"""Options shared by the commands that load a model (sample, walk, info, eval), and what they
write beside images."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import typer

from ganedge.errors import InputError
from ganedge.runtime.model import GeneratorModel, load
from ganedge.runtime.providers import PROVIDER_CHOICES
from ganedge.runtime.session import CUDNN_SEARCHES, SessionSettings

MIN_GRID_CELL = 64  # grid cells are enlarged to at least this many pixels a side

MODEL = typer.Argument(None, metavar="MODEL", help="ONNX (or .ort) model written by `ganedge "
                       "export` (default: the bundled digits model).", show_default=False)
# choice types: help lists the names, completion offers them, typos fail at parsing
Provider = Literal[PROVIDER_CHOICES]  # type: ignore[valid-type]
PROVIDER = typer.Option("auto", "--provider", help="ONNX Runtime's execution provider, or "
                        "openvino: OpenVINO's CPU plugin (the openvino extra).")
THREADS = typer.Option(None, "--threads", metavar="N", help="ONNX Runtime intra-op threads "
                       "(default: the cores this process may use).")
STRICT_PROVIDER = typer.Option(False, "--strict-provider",
                               help="Fail instead of warning when the session does not run on "
                                    "the provider asked for.")
LATENT_DIM = typer.Option(None, "--latent-dim", metavar="D", help="Latent size of a "
                          "third-party ONNX generator that has no ganedge contract.")
ALLOW_NONFINITE = typer.Option(False, "--allow-nonfinite",
                               help="Write NaN/Inf model output as black/white pixels instead of "
                                    "failing.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show progress: a bar on a "
                        "terminal, else a line every 10% or 30 s.")
BATCH_SIZE = typer.Option(64, "--batch-size", metavar="B", help="Images per session run (does "
                                                                "not change any image).")
TRUNCATION = typer.Option(1.0, "--truncation", "--psi", metavar="PSI",
                          help="ψ in [0, 1]: z' = ψ·z pulls latents toward the prior's mean "
                               "(zero), for StyleGAN models w' = w_avg + ψ·(w − w_avg) in W; "
                               "1 is none, lower is cleaner but less varied.")
# session settings for the CUDA provider (see docs/gpu.md); the CPU ignores them
CUDA_GRAPH = typer.Option(False, "--cuda-graph", help="CUDA: capture one CUDA graph per batch "
                          "size and replay it (opt-in: not yet measured to win everywhere).")
CudnnSearch = Literal[CUDNN_SEARCHES]  # type: ignore[valid-type]
CUDNN_SEARCH = typer.Option("auto", "--cudnn-search", help="CUDA: cuDNN's convolution "
                            "algorithm search; auto is exhaustive with --cuda-graph (searched "
                            "once per batch size), else heuristic.")
TF32 = typer.Option(True, "--tf32/--no-tf32", help="CUDA: TF32 tensor-core math for fp32 "
                    "models (faster; about 1e-3 off plain fp32).")


def parse_int_list(spec: str, param: str) -> tuple[int, ...]:
    """``"1,8,64"`` → (1, 8, 64); anything else is InputError naming ``param`` (range checks are
    the caller's)."""
    parts = spec.split(",")
    if len(spec) > 1000 or not all(part.strip().isdigit() for part in parts):
        raise InputError(f"{spec[:40]!r} is not a list of integers: use e.g. 1,8,64",
                         param=param)
    return tuple(int(part) for part in parts)


def session_settings(cuda_graph: bool, cudnn_search: str, tf32: bool) -> SessionSettings:
    """The session settings the CUDA flags give (everything else at ganedge's defaults)."""
    return SessionSettings(cuda_graph=cuda_graph, cudnn_search=cudnn_search, use_tf32=tf32)


def open_model(model: Path | None, provider: str, threads: int | None, strict: bool,
               latent_dim: int | None, *, allow_nonfinite: bool = False,
               quiet: bool = False, settings: SessionSettings | None = None) -> GeneratorModel:
    """Load the model; a provider fallback warning becomes one ``warning: …`` line on stderr,
    and a graph with a fixed batch size one ``note: …`` line (neither with ``quiet``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        gen = load(model, provider=provider, threads=threads, strict_provider=strict,
                   latent_dim=latent_dim, allow_nonfinite=allow_nonfinite, settings=settings)
    for warning in caught if not quiet else ():
        typer.echo(f"warning: {warning.message}", err=True)
    if gen.static_batch is not None and not quiet:
        typer.echo(f"note: the model's graph has a fixed batch of {gen.static_batch}: it runs "
                   f"{gen.static_batch} image(s) per session run", err=True)
    return gen


def auto_scale(shape: tuple[int, int, int], side: int) -> int:
    """The smallest whole enlargement that makes (H, W, C) images at least ``side`` px a side."""
    return max(1, -(-side // min(shape[:2])))


