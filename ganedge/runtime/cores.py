"""The one place that counts CPU cores, and what ``threads`` means everywhere.

``threads`` (API) / ``--threads`` (CLI), in every command and in the benchmark, is the number of
intra-op threads one model runs with: ONNX Runtime's intra-op pool for ganedge, and
``torch.set_num_threads`` for the PyTorch candidates of ``ganedge bench``. Left out (None) it is
:func:`physical_cores`: ONNX Runtime then keeps its own pinned pool of one thread per physical core
(hyper-thread siblings share the FMA units a convolution saturates), and PyTorch is given the same
count, so both sides of a comparison run on the same cores.
"""

from __future__ import annotations

import os
from pathlib import Path


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-thread siblings counted once).

    >>> physical_cores() <= usable_cpus()
    True
    """
    if not hasattr(os, "sched_getaffinity"):
        return max(1, os.cpu_count() or 1)
    siblings = set()
    for cpu in sorted(os.sched_getaffinity(0)):
        topology = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            siblings.add(topology.read_text().strip())
        except OSError:  # no sysfs topology (containers, other OSes): count logical CPUs
            return usable_cpus()
    return len(siblings) or usable_cpus()


def threads_or_default(threads: int | None) -> int:
    """The intra-op thread count a model runs with: ``threads``, else :func:`physical_cores`."""
    return physical_cores() if threads is None else threads
