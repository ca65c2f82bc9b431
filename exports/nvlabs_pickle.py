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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ganedge.errors import CheckpointError, InputError, one_line

PARAM = "checkpoint"
MAX_TENSOR_ELEMENTS = 1 << 26  # 256 MiB of float32; the largest StyleGAN2 tensor has ~2.4M
# A real file stores every element it holds (≥ 2 bytes each), so tensors that would add up to more
# elements than the file has bytes can only be stride-0 or shared-storage tricks to exhaust memory.
MIN_ELEMENT_BUDGET = 1 << 20
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
    if (not isinstance(dtype, _DType) or not isinstance(data, bytes)
            or len(data) != dtype.dtype.itemsize):
        raise CheckpointError("a numpy scalar in the file is malformed", param=PARAM)
    value = np.frombuffer(data, dtype=dtype.dtype.newbyteorder("<"))[0]
    return value.item()  # type: ignore[no-any-return]


class _TensorBudget:
    """Rebuilds tensors while the elements they add up to stay within the file's means."""

    def __init__(self, elements: int) -> None:
        self.remaining = elements

    def rebuild(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                hooks: Any = None, metadata: Any = None) -> np.ndarray:
        """torch._utils._rebuild_tensor_v2 as numpy: a strided view of the storage, bounds checked
        before anything is allocated, then copied."""
        dims = tuple(size) if isinstance(size, (tuple, list)) else None
        steps = tuple(stride) if isinstance(stride, (tuple, list)) else None
        if (not isinstance(storage, np.ndarray) or storage.ndim != 1
                or not storage.flags.c_contiguous or dims is None or steps is None
                or len(dims) != len(steps) or not _naturals(dims + steps + (offset,))):
            raise CheckpointError("a tensor's storage, size or stride is malformed", param=PARAM)
        numel = math.prod(dims)
        if numel > min(MAX_TENSOR_ELEMENTS, self.remaining):
            raise CheckpointError(f"a tensor of {numel} elements is larger than the file can hold "
                                  "or any StyleGAN2 has", param=PARAM)
        self.remaining -= numel
        if numel == 0:
            return np.zeros(dims, dtype=storage.dtype)
        if offset + sum((d - 1) * s for d, s in zip(dims, steps)) >= storage.size:
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


# A snapshot saved from the GPU names torch.cuda storages; the bytes are read the same way.
_STORAGE_NAMES: dict[tuple[str, str], Any] = {
    (module, k): v for k, v in _STORAGE_DTYPES.items() for module in ("torch", "torch.cuda")}


def _load_from_bytes(data: Any) -> np.ndarray:
    """One storage saved by ``torch.save(storage, _use_new_zipfile_serialization=False)``: four
    small pickles (magic, protocol, sys info, the storage's reference), the list of keys, then per
    key its element count (int64) and raw little-endian data. Returned as a flat numpy array."""
    if not isinstance(data, bytes):
        raise CheckpointError("a tensor storage is not bytes", param=PARAM)
    f = io.BytesIO(data)
    plain: dict[tuple[str, str], Any] = {}
    magic, protocol = _Restricted(f, plain).load(), _Restricted(f, plain).load()
    if magic != _LEGACY_MAGIC or protocol != _LEGACY_PROTOCOL:
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
    if (not isinstance(view, tuple) or len(view) != 3 or not _naturals(view[1:])
            or view[1] + view[2] > array.size):
        raise CheckpointError("a tensor storage view is malformed", param=PARAM)
    return array[view[1]:view[1] + view[2]]


def _ordered_dict(*args: Any) -> dict[Any, Any]:
    return OrderedDict(*args)


def _set(*args: Any) -> set[Any]:
    return set(*args)


_ALLOWED: dict[tuple[str, str], Callable[..., Any] | type] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
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
            budget = _TensorBudget(max(MIN_ELEMENT_BUDGET, path.stat().st_size))
            allowed = {**_ALLOWED, ("torch._utils", "_rebuild_tensor_v2"): budget.rebuild}
            return _Restricted(f, allowed).load()
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}", param=PARAM) from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a damaged pickle is one line
        raise CheckpointError(f"{path} is not a readable network pickle ({one_line(exc, 120)})",
                              param=PARAM) from None


WEIGHTS = {"ema": "G_ema", "raw": "G"}
_GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")
_MAPPING = {"num_layers": "mapping_layers", "embed_features": "embed_features",
            "layer_features": "layer_features", "lr_multiplier": "mapping_lr_multiplier",
            "w_avg_beta": "w_avg_beta"}
_SYNTHESIS = {"channel_base": "channel_base", "channel_max": "channel_max",
              "conv_clamp": "conv_clamp"}
# NVlabs options whose only supported value is the one every released StyleGAN2 uses.
_FIXED = {"activation": "lrelu", "architecture": "skip", "resample_filter": [1, 3, 3, 1],
          "use_noise": True, "kernel_size": 3}
_INTEGER_OPTIONS = frozenset({"num_layers", "embed_features", "layer_features", "channel_base",
                              "channel_max"})
MAX_DEPTH = 32  # far beyond any StyleGAN2's module tree (4 levels) or kwargs (2 levels)
# Memory-layout, mixed-precision and conv-form options: the same math; ganedge runs it in float32.
_IGNORED = frozenset({"num_fp16_res", "fp16_channels_last", "channels_last",
                      "fused_modconv_default"})


@dataclass(frozen=True)
class NvlabsGenerator:
    """A StyleGAN2 generator read from an NVlabs pickle, as data.

    ``config`` holds ganedge StyleGAN2Config fields; ``tensors`` every parameter and buffer under
    NVlabs' state_dict names (``mapping.fc0.weight``, ``synthesis.b4.conv1.noise_const`` …).
    """

    network: str  # "G_ema" or "G"
    config: dict[str, Any]
    tensors: dict[str, np.ndarray]
    nvlabs_kwargs: dict[str, Any]  # the constructor kwargs as NVlabs stored them


def read_generator(checkpoint: str | Path, weights: str = "ema") -> NvlabsGenerator:
    """The generator of an NVlabs StyleGAN2(-ADA) snapshot pickle, read without running its code.

    ``weights`` "ema" reads ``G_ema`` (``G`` when the file has none), "raw" reads ``G``. Raises
    CheckpointError naming what is wrong for anything but a StyleGAN2 'skip' generator.

    >>> g = read_generator("network-snapshot-000400.pkl")  # doctest: +SKIP
    >>> g.config["img_resolution"], g.tensors["mapping.w_avg"].shape  # doctest: +SKIP
    (256, (512,))
    """
    if weights not in WEIGHTS:
        raise InputError(f"must be one of {list(WEIGHTS)} (got {weights!r})", param="weights")
    top = read_pickle(checkpoint)
    if not isinstance(top, dict) or not ({"G", "G_ema"} & set(top)):
        raise CheckpointError(f"{checkpoint} holds no G or G_ema network: give an NVlabs "
                              "network-snapshot-*.pkl", param=PARAM)
    network = WEIGHTS[weights] if WEIGHTS[weights] in top else "G"
    record = top.get(network)
    if not isinstance(record, PersistentRecord) or record.class_name != "Generator":
        found = record.class_name if isinstance(record, PersistentRecord) else type(record).__name__
        raise CheckpointError(f"{network} in {checkpoint} is a {found}, not an NVlabs Generator",
                              param=PARAM)
    tensors: dict[str, np.ndarray] = {}
    classes: dict[str, str] = {}
    _flatten(record, "", tensors, classes)
    if "SynthesisInput" in classes.values():
        raise CheckpointError(
            f"{network} in {checkpoint} is a StyleGAN3 (-T/-R) generator; ganedge imports "
            "StyleGAN2 and StyleGAN2-ADA generators (stylegan2-ada-pytorch, or stylegan3 with "
            "--cfg=stylegan2) only", param=PARAM)
    kwargs = _init_kwargs(record)
    return NvlabsGenerator(network, _config(kwargs, network), tensors, kwargs)


def _flatten(record: PersistentRecord, prefix: str, tensors: dict[str, np.ndarray],
             classes: dict[str, str]) -> None:
    """Parameters and buffers under dotted names, as torch's state_dict lists them."""
    if prefix.count(".") > MAX_DEPTH:  # also stops a record that contains itself
        raise CheckpointError(f"the network's modules nest deeper than {MAX_DEPTH} levels",
                              param=PARAM)
    classes[prefix.rstrip(".")] = record.class_name
    state = record.state
    for key in ("_parameters", "_buffers"):
        for name, value in _mapping(state.get(key, {}), key).items():
            if value is None:
                continue
            if not isinstance(value, np.ndarray):
                raise CheckpointError(f"{prefix}{name} is not a tensor", param=PARAM)
            tensors[prefix + name] = value
    for name, child in _mapping(state.get("_modules", {}), "_modules").items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise CheckpointError(f"submodule {prefix}{name} is not a persistence record",
                                  param=PARAM)
        _flatten(child, f"{prefix}{name}.", tensors, classes)


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise CheckpointError(f"a network's {what} is not a name → value dict", param=PARAM)
    return value


def _init_kwargs(record: PersistentRecord) -> dict[str, Any]:
    """The Generator's constructor arguments, positional ones named as NVlabs' signature does."""
    args, kwargs = record.state.get("_init_args", ()), record.state.get("_init_kwargs", {})
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
        raise CheckpointError("the Generator record lacks its constructor arguments", param=PARAM)
    names = (*_GENERATOR_ARGS, "mapping_kwargs", "synthesis_kwargs")
    if len(args) > len(names):
        raise CheckpointError(f"the Generator record has {len(args)} positional arguments; "
                              f"NVlabs' Generator takes at most {len(names)}", param=PARAM)
    return _plain({**dict(zip(names, args)), **kwargs})


def _plain(value: Any, depth: int = 0) -> Any:
    """EasyDicts and OrderedDicts as plain dicts, tuples as lists (JSON-ready provenance); only
    numbers, strings, booleans and None as leaves."""
    if depth > MAX_DEPTH:  # also stops a container that contains itself
        raise CheckpointError("the constructor kwargs nest too deep", param=PARAM)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if value is None or type(value) in (bool, int, float, str):
        return value
    raise CheckpointError(f"the constructor kwargs hold a {type(value).__name__}, not plain data",
                          param=PARAM)


def _config(kwargs: dict[str, Any], network: str) -> dict[str, Any]:
    """NVlabs' Generator kwargs as StyleGAN2Config fields; refuses options ganedge cannot honour.

    stylegan3's ``--cfg=stylegan2`` Generator takes the synthesis options at the top level, so
    anything beside the five sizes and ``mapping_kwargs`` counts as a synthesis option."""
    config: dict[str, Any] = {}
    for name in _GENERATOR_ARGS:
        value = kwargs.get(name)
        if type(value) is not int or value < 0:
            raise CheckpointError(f"{network}'s {name} is {value!r}, not a size", param=PARAM)
        config[name] = value
    mapping = kwargs.get("mapping_kwargs", {})
    synthesis = {k: v for k, v in kwargs.items()
                 if k not in (*_GENERATOR_ARGS, "mapping_kwargs", "synthesis_kwargs")}
    synthesis.update(kwargs.get("synthesis_kwargs", {}))
    for options, fields in ((mapping, _MAPPING), (synthesis, _SYNTHESIS)):
        if not isinstance(options, dict):
            raise CheckpointError(f"{network}'s constructor options are not a dict", param=PARAM)
        for key, value in options.items():
            _check_option(network, key, value, fields)
            if key in fields:
                config[fields[key]] = _option_number(network, key, value)
    return config


def _option_number(network: str, key: str, value: Any) -> int | float | None:
    """A size, rate or clamp: a finite number (None where NVlabs allows it: 'same as w_dim', no
    tracking, no clamp)."""
    if value is None and key in ("embed_features", "layer_features", "conv_clamp"):
        return None
    if type(value) not in (int, float) or not math.isfinite(value) or value < 0:
        raise CheckpointError(f"{network}'s {key} is {value!r}, not a finite number >= 0",
                              param=PARAM)
    if key in _INTEGER_OPTIONS and type(value) is not int:
        raise CheckpointError(f"{network}'s {key} is {value!r}, not a whole number", param=PARAM)
    return value  # type: ignore[no-any-return]


def _check_option(network: str, key: str, value: Any, fields: dict[str, str]) -> None:
    fixed = _FIXED.get(key)
    if key in fields or key in _IGNORED or (type(value) is type(fixed) and value == fixed):
        return
    if key in _FIXED:
        raise CheckpointError(f"{network} uses {key}={value!r}; ganedge's StyleGAN2 supports "
                              f"{key}={_FIXED[key]!r} only", param=PARAM)
    raise CheckpointError(f"{network} has the constructor option {key}={value!r}, which "
                          "ganedge's StyleGAN2 does not know; refusing rather than guessing",
                          param=PARAM)
