"""PyTorch benchmark candidates: a checkpoint's weights run by torch, beside their ONNX export.

What ``ganedge bench --compare-torch`` and the suites in benchmarks/ time against ganedge. Each
candidate's runner is built in the benchmark's worker process (see ganedge.bench.timing), so
``torch.set_num_threads`` and inductor's settings apply to that process only, never the caller's.
Host latents in, host images out: on CUDA every call copies z to the device and the images back,
as a sampler must. Like every candidate, a torch one is checked against the ONNX reference before
its time counts (a wrong torch.compile result is a failed row, not a speed-up).

Example:
    >>> rows = run_bench(torch_candidates("ckpt.pt", ("eager",)), 64)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganedge.bench.timing import Candidate, RunFn
from ganedge.errors import InputError
from ganedge.runtime.cores import threads_or_default

TORCH_KINDS = ("eager", "compile", "bf16", "fp16")
TORCH_DEVICES = ("cpu", "cuda")
_PRECISION = {"eager": "fp32", "compile": "fp32", "bf16": "bf16", "fp16": "fp16"}


@dataclass(frozen=True)
class TorchStarter:
    """Builds a PyTorch runner of one checkpoint inside the worker process (picklable)."""

    checkpoint: Path
    kind: str  # one of TORCH_KINDS
    threads: int | None  # see ganedge.runtime.cores: None is one per physical core
    device: str = "cpu"  # one of TORCH_DEVICES
    truncation: float = 1.0  # ψ, for a StyleGAN generator (as ganedge's generate takes it)

    def __call__(self, batch: int) -> tuple[RunFn, str]:
        import torch

        from trainer.checkpoint import generator_from_checkpoint, load_checkpoint

        if self.device == "cuda" and not torch.cuda.is_available():
            raise InputError("torch sees no CUDA device: run on a machine with a GPU",
                             param="device")
        torch.set_num_threads(threads_or_default(self.threads))
        ckpt = load_checkpoint(self.checkpoint)
        arch = ckpt["arch_config"]
        build = {"eager": _eager, "compile": _compiled, "bf16": _bf16, "fp16": _fp16}
        generator = generator_from_checkpoint(ckpt).to(self.device)
        run = build[self.kind](generator, self, batch, int(arch["latent_dim"]),
                               int(arch.get("num_classes", 0)))
        where = torch.cuda.get_device_name() if self.device == "cuda" else "cpu"
        return run, f"torch {torch.__version__} {where}"


def torch_candidates(ckpt_path: str | Path, kinds: tuple[str, ...] = ("eager", "compile"), *,
                     flops_per_image: int | None = None, threads: int | None = None,
                     device: str = "cpu", truncation: float = 1.0) -> list[Candidate]:
    """One candidate per kind: "eager" (fp32, the speed-up baseline), "compile" (torch.compile:
    on CPU with inductor's weight freezing, on CUDA mode "reduce-overhead", i.e. CUDA graphs),
    "bf16" (bf16 weights, channels_last) and "fp16" (autocast to float16, channels_last: the
    usual way to run torch in half precision, which also covers layers that must stay fp32).
    ``truncation``: ψ as the ONNX candidates apply it (in W for StyleGAN, on z otherwise)."""
    unknown = sorted(set(kinds) - set(TORCH_KINDS))
    if unknown:
        raise InputError(f"unknown {unknown}: choose from {list(TORCH_KINDS)}", param="kinds")
    if device not in TORCH_DEVICES:
        raise InputError(f"must be one of {list(TORCH_DEVICES)} (got {device!r})", param="device")
    ckpt_path = Path(ckpt_path).resolve()
    size_mb = generator_bytes(ckpt_path) / 1e6
    return [Candidate(label=f"torch {kind}", model=ckpt_path.name, precision=_PRECISION[kind],
                      provider=f"torch-{device}",
                      start=TorchStarter(ckpt_path, kind, threads, device, truncation),
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


def _eager(generator, starter: TorchStarter, batch: int, latent_dim: int,  # type: ignore[no-untyped-def]
           num_classes: int, dtype: str = "float32", autocast: bool = False) -> RunFn:
    import contextlib

    import torch

    device = starter.device
    # a conditional generator is timed on class 0, as the ONNX candidates are
    extra = (torch.zeros(batch, dtype=torch.int64, device=device),) if num_classes else ()
    # ψ only where the generator takes it (StyleGAN); elsewhere ganedge truncates z itself
    kwargs = ({"truncation_psi": starter.truncation} if hasattr(generator, "mapping") else {})
    z_dtype = getattr(torch, dtype)
    scale = 1.0 if kwargs else starter.truncation

    def mode() -> contextlib.AbstractContextManager:
        return torch.autocast(device, dtype=torch.float16) if autocast else contextlib.nullcontext()

    def run(z: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), mode():
            x = torch.from_numpy(z).to(device)  # on the CPU: z itself, never changed in place
            x = (x * scale if scale != 1.0 else x).to(z_dtype)
            return generator(x, *extra, **kwargs).float().cpu().numpy()

    return run


def _compiled(generator, starter: TorchStarter, batch: int, latent_dim: int,  # type: ignore[no-untyped-def]
              num_classes: int) -> RunFn:
    import torch
    import torch._inductor.config as inductor_config

    if starter.device == "cuda":  # CUDA graphs: the launch overhead is what a GPU run loses to
        return _eager(torch.compile(generator, mode="reduce-overhead", dynamic=False), starter,
                      batch, latent_dim, num_classes)
    run = _eager(torch.compile(generator, dynamic=False), starter, batch, latent_dim, num_classes)
    # freezing folds weights (and BatchNorm) into constants: inference-only, the fast CPU path.
    # The compile happens on the first call, so only that call needs the setting; patch() puts
    # the previous value back afterwards.
    with inductor_config.patch(freezing=True):
        run(np.zeros((batch, latent_dim), np.float32))
    return run


def _bf16(generator, starter: TorchStarter, batch: int, latent_dim: int,  # type: ignore[no-untyped-def]
          num_classes: int) -> RunFn:
    import torch

    generator = generator.to(dtype=torch.bfloat16, memory_format=torch.channels_last)
    return _eager(generator, starter, batch, latent_dim, num_classes, dtype="bfloat16")


def _fp16(generator, starter: TorchStarter, batch: int, latent_dim: int,  # type: ignore[no-untyped-def]
          num_classes: int) -> RunFn:
    import torch

    generator = generator.to(memory_format=torch.channels_last)
    return _eager(generator, starter, batch, latent_dim, num_classes, autocast=True)
