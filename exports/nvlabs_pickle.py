"""Read an NVlabs StyleGAN2-ADA network pickle as data, never as code.

Their pickles hold each network as a ``torch_utils.persistence`` record: a call of
``_reconstruct_persistent_obj(meta)`` whose ``meta`` carries the Python source of the module
defining the class, the class name and the object's ``__dict__`` (parameters, buffers,
submodules, constructor args in ``_init_args``/``_init_kwargs``). Loading it with ``pickle``
executes that source. This reader resolves only a fixed list of names, each to a function of our
own that builds plain data: a record becomes :class:`PersistentRecord` (its source is never
looked at), a tensor becomes a numpy array, ``OrderedDict``/``EasyDict``/``set`` become plain
containers, a numpy scalar a Python number. Any other name in the file is refused before anything
is imported or called; ``find_class`` is never deferred to ``pickle``'s own.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ganedge.errors import CheckpointError, one_line

PARAM = "checkpoint"
MAX_TENSOR_ELEMENTS = 1 << 28  # 1 GiB of float32; the largest StyleGAN2 tensor is ~2.4M elements
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.save's legacy (non-zip) format
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"), "BFloat16Storage": np.dtype("<u2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}
_SCALAR_DTYPES = frozenset({"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"})


class PersistentRecord:
    """A ``torch_utils.persistence`` object as data: its class name and its ``__dict__``."""

    __slots__ = ("class_name", "state")

    def __init__(self, class_name: str, state: dict[str, Any]) -> None:
        self.class_name = class_name
        self.state = state

    def __setstate__(self, state: Any) -> None:
        raise CheckpointError("a persistence record is given extra state, which NVlabs pickles "
                              "never do; refusing the file", param=PARAM)

    def __repr__(self) -> str:
        return f"PersistentRecord({self.class_name!r})"


class _EasyDict(dict):  # type: ignore[type-arg]
    """Stands in for dnnlib.util.EasyDict (a dict with attribute access): items only."""


class _DType:
    """A numpy dtype named in the file, checked against a short list, for numpy scalars."""

    def __init__(self, name: Any, align: Any = False, copy: Any = False) -> None:
        if name not in _SCALAR_DTYPES:
            raise CheckpointError(f"numpy dtype {name!r} is not one a network pickle holds",
                                  param=PARAM)
        self.dtype = np.dtype(name)

    def __setstate__(self, state: Any) -> None:
        # (version, byte order, ...): only little-endian or byte-order-free scalars are read.
        if not isinstance(state, tuple) or len(state) < 2 or state[1] not in ("<", "|", "="):
            raise CheckpointError("numpy dtype state is not a little-endian scalar's", param=PARAM)


def _reconstruct_persistent_obj(meta: Any) -> PersistentRecord:
    """The record NVlabs' persistence writes, kept as data; ``meta['module_src']`` is not read."""
    if not isinstance(meta, dict) or meta.get("type") != "class":
        raise CheckpointError("a persistence record is not of type 'class'", param=PARAM)
    name, state = meta.get("class_name"), meta.get("state")
    if not isinstance(name, str) or not isinstance(state, dict):
        raise CheckpointError("a persistence record lacks its class name or state", param=PARAM)
    return PersistentRecord(name, dict(state))


def _numpy_scalar(dtype: Any, data: Any = None) -> int | float | bool:
    if not isinstance(dtype, _DType) or not isinstance(data, bytes) or len(data) != dtype.dtype.itemsize:
        raise CheckpointError("a numpy scalar in the file is malformed", param=PARAM)
    return np.frombuffer(data, dtype=dtype.dtype.newbyteorder("<"))[0].item()  # type: ignore[no-any-return]


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                    hooks: Any = None, metadata: Any = None) -> np.ndarray:
    """A tensor as a numpy array: a strided view of its storage, bounds checked, then copied."""
    dims = tuple(size) if isinstance(size, (tuple, list)) else None
    steps = tuple(stride) if isinstance(stride, (tuple, list)) else None
    if (not isinstance(storage, np.ndarray) or dims is None or steps is None
            or len(dims) != len(steps) or not _naturals(dims + steps + (offset,))):
        raise CheckpointError("a tensor's storage, size or stride is malformed", param=PARAM)
    numel = math.prod(dims)
    if numel > MAX_TENSOR_ELEMENTS:
        raise CheckpointError(f"a tensor of {numel} elements is larger than any StyleGAN2 holds "
                              f"(at most {MAX_TENSOR_ELEMENTS})", param=PARAM)
    if numel == 0:
        return np.zeros(dims, dtype=storage.dtype)
    last = offset + sum((d - 1) * s for d, s in zip(dims, steps))
    if last >= storage.size:
        raise CheckpointError("a tensor reaches past the end of its storage", param=PARAM)
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=dims,
                                           strides=[s * storage.itemsize for s in steps])
    return np.array(view)


def _rebuild_parameter(data: Any, requires_grad: Any = False, hooks: Any = None,
                       state: Any = None) -> np.ndarray:
    if not isinstance(data, np.ndarray):
        raise CheckpointError("a parameter does not hold a tensor", param=PARAM)
    return data


def _naturals(values: tuple[Any, ...]) -> bool:
    return all(type(v) is int and v >= 0 for v in values)


class _StorageRef:
    """A storage named by the inner legacy pickle: its element type, key and length."""

    def __init__(self, dtype: np.dtype, key: str, numel: int) -> None:
        self.dtype, self.key, self.numel = dtype, key, numel


class _Restricted(pickle.Unpickler):
    """An unpickler that resolves only the names in ``allowed`` and nothing else."""

    def __init__(self, file: BinaryIO, allowed: dict[tuple[str, str], Any]) -> None:
        super().__init__(file)
        self._allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise CheckpointError(
                f"the file refers to {module}.{name}, which no StyleGAN2-ADA network pickle "
                f"holds; refusing it (only NVlabs persistence records, containers, numbers, "
                f"strings and tensors are read, and no code from the file is run)", param=PARAM)
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise CheckpointError("the file uses persistent ids, which network pickles do not",
                              param=PARAM)


class _LegacyStorage(_Restricted):
    """The inner pickle of torch's legacy storage bytes: storages come as persistent ids."""

    def persistent_load(self, pid: Any) -> Any:
        if (not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage"
                or not isinstance(pid[1], np.dtype) or type(pid[2]) is not str
                or not _naturals((pid[4],))):
            raise CheckpointError("a tensor storage record is malformed", param=PARAM)
        view = pid[5] if len(pid) > 5 else None
        return _StorageRef(pid[1], pid[2], pid[4]), view


_STORAGE_NAMES: dict[tuple[str, str], Any] = {("torch", k): v for k, v in _STORAGE_DTYPES.items()}


def _load_from_bytes(data: Any) -> np.ndarray:
    """One storage saved by ``torch.save(storage, _use_new_zipfile_serialization=False)``: four
    small pickles (magic, protocol, sys info, the storage's reference), the list of keys, then per
    key its element count (int64) and raw little-endian data. Returned as a flat numpy array."""
    if not isinstance(data, bytes):
        raise CheckpointError("a tensor storage is not bytes", param=PARAM)
    f = io.BytesIO(data)
    plain: dict[tuple[str, str], Any] = {}
    if _Restricted(f, plain).load() != _LEGACY_MAGIC or _Restricted(f, plain).load() != _LEGACY_PROTOCOL:
        raise CheckpointError("a tensor storage is not in torch's legacy format", param=PARAM)
    info = _Restricted(f, plain).load()
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise CheckpointError("a tensor storage is not little-endian", param=PARAM)
    ref, view = _LegacyStorage(f, _STORAGE_NAMES).load()
    keys = _Restricted(f, plain).load()
    if keys != [ref.key]:
        raise CheckpointError("a tensor storage's key list does not match its record", param=PARAM)
    (numel,) = struct.unpack("<q", f.read(8))
    if numel != ref.numel or numel < 0 or numel > MAX_TENSOR_ELEMENTS:
        raise CheckpointError("a tensor storage's length does not match its record", param=PARAM)
    raw = f.read(numel * ref.dtype.itemsize)
    if len(raw) != numel * ref.dtype.itemsize:
        raise CheckpointError("a tensor storage is truncated", param=PARAM)
    array = np.frombuffer(raw, dtype=ref.dtype).copy()
    if ref.dtype == np.dtype("<u2"):  # bfloat16: the high half of a float32
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return _apply_view(array, view)


def _apply_view(array: np.ndarray, view: Any) -> np.ndarray:
    if view is None:
        return array
    if not isinstance(view, tuple) or len(view) != 3 or not _naturals(view[1:]) or view[1] + view[2] > array.size:
        raise CheckpointError("a tensor storage view is malformed", param=PARAM)
    return array[view[1]:view[1] + view[2]]


def _ordered_dict(*args: Any) -> dict[Any, Any]:
    return OrderedDict(*args)


def _set(*args: Any) -> set[Any]:
    return set(*args)


_ALLOWED: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): _set,
    ("dnnlib.util", "EasyDict"): _EasyDict,
    ("numpy", "dtype"): _DType,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}


def read_pickle(path: str | Path) -> Any:
    """The pickle's top-level object with every record, tensor and container as plain data.

    Raises CheckpointError (one line, ``param="checkpoint"``) for a missing or unreadable file,
    any name outside the fixed list, or malformed tensor data.
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            return _Restricted(f, _ALLOWED).load()
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}", param=PARAM) from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a damaged pickle is one line
        raise CheckpointError(f"{path} is not a readable network pickle ({one_line(exc, 120)})",
                              param=PARAM) from None
