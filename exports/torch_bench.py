"""PyTorch candidates for the benchmark: the same checkpoint's weights run by torch itself.

Imported only by ``ganedge bench --compare-torch`` and benchmarks/, after the torch extra has been
checked: this module imports torch, the rest of the runtime never does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganedge.bench import Candidate, RunFn
from ganedge.errors import InputError
from ganedge.session import physical_cores
from trainer.checkpoint import generator_from_checkpoint, load_checkpoint

TORCH_KINDS = ("eager", "compile", "bf16")


def torch_candidates(ckpt_path: str | Path, kinds: tuple[str, ...] = ("eager", "compile"),
                     flops_per_image: int | None = None, threads: int | None = None) -> list[Candidate]:
    """One candidate per kind: "eager" (fp32, the speed-up baseline), "compile" (torch.compile
    with inductor's weight freezing) and "bf16" (bf16 weights, channels_last)."""
    unknown = sorted(set(kinds) - set(TORCH_KINDS))
    if unknown:
        raise InputError(f"torch kinds: unknown {unknown}: choose from {list(TORCH_KINDS)}")
    ckpt_path = Path(ckpt_path)
    ckpt = load_checkpoint(ckpt_path)
    torch.set_num_threads(threads or physical_cores())
    builders: dict[str, Callable[[], RunFn]] = {
        "eager": lambda: _eager(generator_from_checkpoint(ckpt)),
        "compile": lambda: _compiled(generator_from_checkpoint(ckpt)),
        "bf16": lambda: _bf16(generator_from_checkpoint(ckpt)),
    }
    precision = {"eager": "fp32", "compile": "fp32", "bf16": "bf16"}
    return [Candidate(label=f"torch {kind}", model=ckpt_path.name, precision=precision[kind],
                      provider="torch-cpu", start=_starter(builders[kind]),
                      flops_per_image=flops_per_image, baseline=(kind == "eager"))
            for kind in kinds]


def checkpoint_latent_dim(ckpt_path: str | Path) -> int:
    """The latent size a checkpoint's generator takes."""
    return int(load_checkpoint(ckpt_path)["arch_config"]["latent_dim"])


def _starter(build: Callable[[], RunFn]) -> Callable[[int], tuple[RunFn, str]]:
    def start(batch: int) -> tuple[RunFn, str]:
        return build(), f"torch {torch.__version__} cpu"

    return start


def _eager(generator: nn.Module) -> RunFn:
    def run(z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return generator(torch.from_numpy(z)).numpy()

    return run


def _compiled(generator: nn.Module) -> RunFn:
    import torch._inductor.config as inductor_config

    # freezing folds weights (and BatchNorm) into constants: inference-only, the fast CPU path
    inductor_config.freezing = True
    compiled = torch.compile(generator, dynamic=False)
    return _eager(compiled)


def _bf16(generator: nn.Module) -> RunFn:
    generator = generator.to(dtype=torch.bfloat16, memory_format=torch.channels_last)

    def run(z: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return generator(torch.from_numpy(z).to(torch.bfloat16)).float().numpy()

    return run
