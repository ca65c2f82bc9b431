"""Size budgets: every count, size and pixel total is checked here BEFORE anything is allocated.

Each limit is a stated constant, far above real use and far below what would exhaust a machine.
A value over its budget raises InputError naming the API parameter, the limit and the way out;
a value of the wrong type (a bool or float where an int is meant, NaN where a number is meant)
raises InputError too, so callers never see a raw TypeError or a numpy overflow.

Example:
    >>> check_int(64, "n", low=1, high=MAX_SEEDS)
    64
    >>> check_int(0, "n", low=1)
    Traceback (most recent call last):
    ...
    ganedge.errors.InputError: n: must be at least 1 (got 0)
"""

from __future__ import annotations

import math
import numbers

from ganedge.errors import InputError

MAX_SEEDS = 10**9  # seeds in one call: per-seed files stream, so only time bounds it
MAX_SEED = 2**63 - 1  # largest seed: seeds become int64 labels (seed % num_classes)
MAX_SEED_SPEC_CHARS = 100_000  # length of a seed list like "0-63,100,200-209"
MAX_IN_MEMORY_BYTES = 1 << 30  # largest uint8 image stack, grid or movie built in memory (1 GiB)
MAX_GRID_IMAGES = 4096  # images in one grid PNG: bigger is too large to look at; use files
MAX_GRID_PIXELS = 64_000_000  # pixels of one grid PNG, or of one walk frame
MAX_BATCH = 65_536  # rows in one session run (batch_size, bench batch)
MAX_BATCH_BYTES = 1 << 30  # bytes of one session run's input or output
MAX_WALK_FRAMES = 100_000  # frames of one walk (all transitions)
MAX_WALKS = 1024  # walks side by side in one animation
MAX_SCALE = 64  # nearest-neighbour enlargement of walk frames
MIN_FPS, MAX_FPS = 0.1, 100.0  # GIF stores frame times in 10 ms steps up to 655 s
MAX_BENCH_BUDGET_S = 3600.0  # timed seconds per benchmark row
THREADS_PER_CPU = 4  # threads beyond 4 per usable CPU only thrash (and 10^5 crash ORT)

# contract values: generous for any GAN an edge runtime serves (StyleGAN at 1024² uses 512)
MAX_LATENT_DIM = 1 << 16
MAX_SIDE = 16_384  # output height and width in pixels
MAX_IMAGE_PIXELS = 1 << 26  # H × W of one output image (8192²)
MAX_NUM_CLASSES = 1 << 20
MAX_NUM_WS = 256  # StyleGAN w vectors per image (18 at 1024²)
MAX_METADATA_CHARS = 1 << 20  # one JSON value in the model's metadata (contract, provenance)
MAX_JSON_DEPTH = 32  # nesting of that JSON: deeper is hostile, not information


def check_int(value: object, param: str, low: int | None = None, high: int | None = None,
              hint: str = "") -> int:
    """``value`` as an int when it is a real integer (not a bool, not a float) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"must be an integer (got {value!r})", param=param)
    number = int(value)
    if low is not None and number < low:
        raise InputError(f"must be at least {low} (got {number}){hint}", param=param)
    if high is not None and number > high:
        raise InputError(f"must be at most {high:,} (got {number:,}){hint}", param=param)
    return number


def check_float(value: object, param: str, low: float, high: float, hint: str = "") -> float:
    """``value`` as a float when it is a finite real number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"must be a number (got {value!r})", param=param)
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise InputError(f"must be in [{low:g}, {high:g}] (got {number:g}){hint}", param=param)
    return number


def check_bytes(count: int, item_bytes: int, param: str, budget: int, what: str,
                fix: str) -> None:
    """Refuse ``count`` items of ``item_bytes`` each when together they exceed ``budget``."""
    total = count * item_bytes
    if total > budget:
        raise InputError(f"{what} would take {_size(total)} (at most {_size(budget)}): {fix}",
                         param=param)


def check_image_bytes(count: int, shape: tuple[int, int, int], param: str,
                      fix: str = "ask for fewer at once, or stream them to files") -> None:
    """Refuse ``count`` uint8 images of (H, W, C) ``shape`` held in memory beyond the budget."""
    h, w, c = shape
    check_bytes(count, h * w * c, param, MAX_IN_MEMORY_BYTES, f"{count:,} images of {h}x{w}x{c}",
                fix)


def check_threads(threads: object, usable_cpus: int) -> int | None:
    """None (the runtime's default) or a thread count in [1, THREADS_PER_CPU × usable CPUs]."""
    if threads is None:
        return None
    limit = THREADS_PER_CPU * usable_cpus
    return check_int(threads, "threads", 1, limit,
                     hint=f": this process may use {usable_cpus} CPU(s)")


def _size(count: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"
