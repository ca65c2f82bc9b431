"""DDP under torchrun: process-group setup from the environment, model wrapping, flag reduction.

Single-process runs (no ``WORLD_SIZE`` > 1) pass through untouched. Launch with
``torchrun --nproc_per_node N -m ganedge train ...``: gloo on CPU, NCCL on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganedge.errors import ConfigError


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the job."""

    rank: int  # 0 is the only process that writes files
    world: int  # number of processes
    device: torch.device  # where this process's models live


def setup(device: str) -> DistEnv:
    """Pick the device and, under torchrun, join the process group."""
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("cuda was asked for but no CUDA device is visible: use cpu",
                          param="device")
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    where = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(where)
    return DistEnv(dist.get_rank() if world > 1 else 0, world, where)


def wrap(module: nn.Module, env: DistEnv) -> nn.Module:
    """``module`` in DDP when there are several processes, else itself."""
    if env.world == 1:
        return module
    ids = [env.device.index] if env.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def any_true(flag: bool, env: DistEnv) -> bool:
    """True on every process when ``flag`` is true on any (so all ranks act alike)."""
    if env.world == 1:
        return flag
    t = torch.tensor([float(flag)], device=env.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def sync_buffers(env: DistEnv, *modules: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm statistics, spectral-norm vectors) to every process.

    DDP broadcasts buffers before each forward, but the forward then updates them from the
    local batch; syncing after the step keeps EMA and checkpoints identical across ranks.
    """
    if env.world == 1:
        return
    for module in modules:
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)


def teardown(env: DistEnv) -> None:
    """Leave the process group (after the last collective)."""
    if env.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
