"""Write NVlabs StyleGAN2-ADA snapshot pickles from the committed fixture data (no NVIDIA code).

``tests/exports/data/<name>_network.json`` and ``<name>_tensors.npz`` were taken from real
networks built with NVlabs' code (scripts/make_nvlabs_sg2_fixture.py). This module rebuilds the
snapshot pickle byte-for-byte in their layout: a dict of G/D/G_ema/augment_pipe, each network a
``torch_utils.persistence._reconstruct_persistent_obj`` record whose meta holds module source,
class name and the module's ``__dict__``; tensors pickled by torch itself; ``dnnlib.util.EasyDict``
and ``numpy.core.multiarray.scalar`` referenced by name. The module source is a stub that creates
a marker file when executed, so a test can prove the importer never runs it.
"""

from __future__ import annotations

import collections
import copyreg
import io
import json
import pickle
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

DATA = Path(__file__).parent / "data"
FIXTURES = ("sg2ada_uncond", "sg2ada_cond")


def stub_source(marker: Path) -> str:
    """Module source that leaves ``marker`` behind if anything ever executes it."""
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('executed')\n"


def _reconstruct_persistent_obj(meta: Any) -> Any:  # pragma: no cover - only its name is pickled
    raise AssertionError("never called: pickled by name only")


class _EasyDict(dict):  # type: ignore[type-arg]
    def __reduce_ex__(self, protocol: Any) -> Any:
        return copyreg.__newobj__, (type(self),), None, None, iter(self.items())


_NAMES = {
    id(_reconstruct_persistent_obj): ("torch_utils.persistence", "_reconstruct_persistent_obj"),
    id(_EasyDict): ("dnnlib.util", "EasyDict"),
}


class _Record:
    """Pickles as NVlabs' persistent_class.__reduce__ does: (reconstruct, (meta,), None)."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def __reduce__(self) -> Any:
        return _reconstruct_persistent_obj, (self.meta,), None


class _Writer(pickle._Pickler):  # type: ignore[misc,name-defined]
    """The pure-Python pickler, with the stand-ins above written under NVlabs' names and numpy
    scalars under numpy 1.x's module name, as in the pickles NVlabs published."""

    def save_global(self, obj: Any, name: str | None = None) -> None:
        module_name = _NAMES.get(id(obj))
        if module_name is None and getattr(obj, "__module__", "") == "numpy._core.multiarray":
            module_name = ("numpy.core.multiarray", obj.__name__)
        if module_name is None:
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"{module_name[0]}\n{module_name[1]}\n".encode())
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]
    dispatch[types.FunctionType] = save_global


def load(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(network tree, tensors, reference outputs) of fixture ``name``."""
    tree = json.loads((DATA / f"{name}_network.json").read_text())
    with np.load(DATA / f"{name}_tensors.npz") as f:
        tensors = {k: f[k] for k in f.files}
    with np.load(DATA / f"{name}_reference.npz") as f:
        reference = {k: f[k] for k in f.files}
    return tree, tensors, reference


def write_snapshot(name: str, path: Path, marker: Path, **overrides: Any) -> Path:
    """Write fixture ``name`` as ``network-snapshot.pkl`` at ``path``; ``overrides`` replace
    top-level entries (e.g. ``G_ema=None`` or a hostile object)."""
    tree, tensors, _ = load(name)
    src = stub_source(marker)
    snapshot: dict[str, Any] = {"training_set_kwargs": {
        "class_name": "training.dataset.ImageFolderDataset", "path": "data.zip",
        "use_labels": name.endswith("cond") and "uncond" not in name, "max_size": 60000,
        "xflip": False, "resolution": 32}}
    for net in ("G", "D", "G_ema"):
        snapshot[net] = _record(tree[net], net, "", tensors, src)
    snapshot["augment_pipe"] = None
    snapshot.update(overrides)
    path.write_bytes(dumps(snapshot))
    return path


def dumps(obj: Any) -> bytes:
    """``obj`` pickled at protocol 3 (what NVlabs' training loop wrote under Python 3.7)."""
    buf = io.BytesIO()
    _Writer(buf, protocol=3).dump(obj)
    return buf.getvalue()


def record(class_name: str, state: dict[str, Any], src: str) -> _Record:
    """A persistence record with NVlabs' meta layout."""
    return _Record({"type": "class", "version": 6, "module_src": src, "class_name": class_name,
                    "state": state})


def _record(node: dict[str, Any], net: str, prefix: str, tensors: dict[str, np.ndarray],
            src: str) -> _Record:
    """The module's __dict__ in torch's own key order, submodules as records of their own."""
    state: dict[str, Any] = {}
    for key, value in node["attrs"]:
        if isinstance(value, dict) and "tensors" in value:
            state[key] = _tensors(value, net, prefix, tensors, key == "_parameters")
        elif isinstance(value, dict) and "modules" in value:
            state[key] = _container(value["modules"])(
                (cname, _record(child, net, f"{prefix}{cname}.", tensors, src))
                for cname, child in node["children"])
        else:
            state[key] = _untag(value)
    return record(node["class_name"], state, src)


def _tensors(spec: dict[str, Any], net: str, prefix: str, tensors: dict[str, np.ndarray],
             parameters: bool) -> dict[str, Any]:
    out = _container(spec["kind"])()
    for name in spec["tensors"]:
        array = tensors.get(f"{net}/{prefix}{name}")
        t = None if array is None else torch.from_numpy(array.copy())
        if parameters and t is not None:
            t = torch.nn.Parameter(t, requires_grad=False)
        out[name] = t
    return out


def _container(kind: str) -> Any:
    return {"dict": dict, "odict": collections.OrderedDict, "easydict": _EasyDict}[kind]


def _untag(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "np" in value:
        return np.dtype(value["np"]).type(value["value"])
    (kind, items), = value.items()
    if kind in ("tuple", "list", "set"):
        return {"tuple": tuple, "list": list, "set": set}[kind](_untag(v) for v in items)
    return _container(kind)((k, _untag(v)) for k, v in items)
