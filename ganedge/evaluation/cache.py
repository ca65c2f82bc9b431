"""A content-addressed cache of feature-network weights: .npz files, written atomically.

The folder is ``$GANEDGE_CACHE`` or ``~/.cache/ganedge``; files are read with
``allow_pickle=False``, so a cache entry is data, never code.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ganedge.errors import InputError, OutputError
from ganedge.io.files import atomic_path

CACHE_ENV = "GANEDGE_CACHE"


def cache_dir() -> Path:
    """The ganedge cache folder (not created)."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "ganedge"


def content_hash(arrays: list[np.ndarray], settings: Mapping[str, Any]) -> str:
    """sha256 over the arrays' dtype, shape and bytes and the settings as sorted JSON."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def load_arrays(kind: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays cached under ``kind/key``, or None when absent or unreadable."""
    path = cache_dir() / kind / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def save_arrays(kind: str, key: str, arrays: Mapping[str, np.ndarray]) -> Path | None:
    """Write arrays to ``kind/key.npz`` atomically; None when the cache is not writable."""
    folder = cache_dir() / kind
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.npz"
        with atomic_path(path, "cache") as tmp, tmp.open("wb") as handle:
            np.savez(handle, **arrays)
        return path
    except (OSError, InputError, OutputError):
        return None
