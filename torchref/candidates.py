"""PyTorch candidates for the benchmark: the same checkpoint's weights run by torch itself.

Each candidate's runner is built in the benchmark's worker process (see ganedge.bench.timing), so
``torch.set_num_threads`` and inductor's settings apply to that process only, never the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganedge.bench.timing import Candidate, RunFn
from ganedge.cores import threads_or_default
from ganedge.errors import InputError

TORCH_KINDS = ("eager", "compile", "bf16")
_PRECISION = {"eager": "fp32", "compile": "fp32", "bf16": "bf16"}


@dataclass(frozen=True)
class TorchStarter:
    """Builds a PyTorch runner of one checkpoint inside the worker process (picklable)."""

    checkpoint: Path
    kind: str  # one of TORCH_KINDS
    threads: int | None  # see ganedge.cores: None is one per physical core

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        import torch

        from trainer.checkpoint import generator_from_checkpoint, load_checkpoint

        torch.set_num_threads(threads_or_default(self.threads))
        ckpt = load_checkpoint(self.checkpoint)
        arch = ckpt["arch_config"]
        build = {"eager": _eager, "compile": _compiled, "bf16": _bf16}[self.kind]
        run = build(generator_from_checkpoint(ckpt), batch, int(arch["latent_dim"]),
                    int(arch.get("num_classes", 0)))
        return run, f"torch {torch.__version__} cpu"


def torch_candidates(ckpt_path: str | Path, kinds: tuple[str, ...] = ("eager", "compile"),
                     flops_per_image: int | None = None, threads: int | None = None) -> list[Candidate]:
    """One candidate per kind: "eager" (fp32, the speed-up baseline), "compile" (torch.compile
    with inductor's weight freezing) and "bf16" (bf16 weights, channels_last)."""
    unknown = sorted(set(kinds) - set(TORCH_KINDS))
    if unknown:
        raise InputError(f"unknown {unknown}: choose from {list(TORCH_KINDS)}", param="kinds")
    ckpt_path = Path(ckpt_path).resolve()
    size_mb = generator_bytes(ckpt_path) / 1e6
    return [Candidate(label=f"torch {kind}", model=ckpt_path.name, precision=_PRECISION[kind],
                      provider="torch-cpu", start=TorchStarter(ckpt_path, kind, threads),
                      flops_per_image=flops_per_image, size_mb=size_mb,
                      baseline=(kind == "eager"))
            for kind in kinds]


def checkpoint_latent_dim(ckpt_path: str | Path) -> int:
    """The latent size a checkpoint's generator takes."""
    from trainer.checkpoint import load_checkpoint

    return int(load_checkpoint(ckpt_path)["arch_config"]["latent_dim"])


def generator_bytes(ckpt_path: str | Path) -> int:
    """Bytes of the generator's parameters and buffers (what a model file of it would hold)."""
    from trainer.checkpoint import generator_from_checkpoint, load_checkpoint

    state = generator_from_checkpoint(load_checkpoint(ckpt_path)).state_dict()
    return sum(t.numel() * t.element_size() for t in state.values())


def _eager(generator, batch: int, latent_dim: int, num_classes: int,  # type: ignore[no-untyped-def]
           dtype: str = "float32") -> RunFn:
    import torch

    # a conditional generator is timed on class 0, as the ONNX candidates are
    extra = (torch.zeros(batch, dtype=torch.int64),) if num_classes else ()
    z_dtype = getattr(torch, dtype)

    def run(z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return generator(torch.from_numpy(z).to(z_dtype), *extra).float().numpy()

    return run


def _compiled(generator, batch: int, latent_dim: int, num_classes: int) -> RunFn:  # type: ignore[no-untyped-def]
    import torch
    import torch._inductor.config as inductor_config

    run = _eager(torch.compile(generator, dynamic=False), batch, latent_dim, num_classes)
    # freezing folds weights (and BatchNorm) into constants: inference-only, the fast CPU path.
    # The compile happens on the first call, so only that call needs the setting; patch() puts
    # the previous value back afterwards.
    with inductor_config.patch(freezing=True):
        run(np.zeros((batch, latent_dim), np.float32))
    return run


def _bf16(generator, batch: int, latent_dim: int, num_classes: int) -> RunFn:  # type: ignore[no-untyped-def]
    import torch

    generator = generator.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
    return _eager(generator, batch, latent_dim, num_classes, dtype="bfloat16")
