"""Class labels of a conditional model: checked once per call, cut per chunk.

A call's labels are one class for every image (kept as one int, never broadcast to a billion
rows), one class per image (an array already in the caller's memory), or None: seed % classes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from ganedge.budgets import check_int
from ganedge.contract import ModelContract
from ganedge.errors import InputError

LabelSpec = int | np.ndarray | None  # one class for all, (N,) int64 classes, or None


def label_spec(contract: ModelContract, labels: object, count: int, required: bool) -> LabelSpec:
    """The checked labels of ``count`` rows; None for an unconditional model, or for a
    conditional one when labels may come from the seeds (``required`` False)."""
    k = contract.num_classes
    if not contract.conditional:
        if labels is not None:
            raise InputError("this model is unconditional (num_classes 0): drop it",
                             param="labels")
        return None
    if labels is None:
        if required:
            raise InputError(f"this model is conditional ({k} classes): give a class id in "
                             f"[0, {k - 1}]", param="labels")
        return None
    if isinstance(labels, (numbers.Integral, np.ndarray)) and np.ndim(labels) == 0:
        label = check_int(labels, "labels")
        if not 0 <= label < k:
            raise InputError(f"must be in [0, {k - 1}] (got {label})", param="labels")
        return label
    return _label_array(labels, count, k)


def _label_array(labels: object, count: int, k: int) -> np.ndarray:
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)):
        raise InputError(f"must be a class id or a sequence of them (got {labels!r:.60})",
                         param="labels")
    if len(labels) != count:
        raise InputError(f"expected one label or {count} (got {len(labels)})", param="labels")
    try:
        ids = np.asarray(labels)
    except (TypeError, ValueError):
        raise InputError("must be a flat sequence of class ids", param="labels") from None
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise InputError(f"must be integer class ids (got {ids.dtype} of rank {ids.ndim})",
                         param="labels")
    bad = ids[(ids < 0) | (ids >= k)]
    if bad.size:
        raise InputError(f"must be in [0, {k - 1}] (got {int(bad[0])})", param="labels")
    return np.ascontiguousarray(ids, np.int64)


def chunk_labels(contract: ModelContract, spec: LabelSpec, seeds: Sequence[int] | None,
                 rows: slice) -> np.ndarray | None:
    """(b,) int64 class ids of one chunk: rows ``rows`` of the call, whose seeds are ``seeds``."""
    if not contract.conditional:
        return None
    if isinstance(spec, np.ndarray):
        return spec[rows]
    if spec is None:
        return np.asarray(seeds, np.int64) % contract.num_classes
    count = len(seeds) if seeds is not None else rows.stop - rows.start
    return np.full(count, spec, np.int64)
