"""Triton Inference Server model repositories for exported generators.

:func:`write_repository` writes ``REPO/NAME/config.pbtxt`` and ``REPO/NAME/1/model.onnx`` for a
z [+ label] → images model, every config value taken from the model's contract (read and
checked against its graph by :func:`ganedge.load`) and from :class:`TritonSettings`. A StyleGAN
file (mapping and synthesis side by side, which Triton cannot batch as one model) becomes four
models: ``NAME_mapping``, ``NAME_truncation`` (ws, ψ → w_avg + ψ·(ws − w_avg)),
``NAME_synthesis`` and the ensemble ``NAME`` that chains them, z [+ label] + psi → images; that
split needs the onnx package (the ``triton`` extra). The contract is in each entry model's
config as the parameters ``ganedge.contract`` and ``ganedge.format_version``, so a client reads
it with ``ModelContract.from_metadata``.

The model folders are built in a hidden staging folder beside REPO and renamed into place only
when all are complete; an existing non-empty model folder is refused unless ``force``.

Example:
    >>> repo = write_repository("model.onnx", "model_repository")       # doctest: +SKIP
    >>> repo.models                                                     # doctest: +SKIP
    ('model',)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge.contract import ModelContract
from ganedge.errors import InputError, MissingExtraError, ParityError
from ganedge.io.files import check_folder, make_folder, os_errors
from ganedge.runtime.model import GeneratorModel, load
from ganedge.triton.config import (
    Step,
    Tensor,
    TritonSettings,
    check_name,
    ensemble_config,
    image_dims,
    onnx_config,
    z_inputs,
)

__all__ = ["TritonRepository", "TritonSettings", "check_free", "write_repository"]

VERSION = "1"  # the one model version written; Triton serves the highest number present
MODEL_FILE = "model.onnx"  # the ONNX Runtime backend's default file name
SPLIT_TOLERANCE = 1e-5  # pruned halves run the same nodes as the source: equal up to rounding
SPLIT_SEEDS = (0, 1, 2)
TRITON_EXTRA_HINT = "pip install 'ganedge[triton]'"


@dataclass(frozen=True)
class TritonRepository:
    """What :func:`write_repository` wrote."""

    folder: Path  # the repository
    name: str  # the model clients call
    models: tuple[str, ...]  # every model folder written, the one clients call first
    contract: ModelContract  # the source model's contract


def write_repository(model: str | Path, repository: str | Path, *, name: str | None = None,
                     settings: TritonSettings | None = None, latent_dim: int | None = None,
                     force: bool = False) -> TritonRepository:
    """Write ``model`` (an exported .onnx) into the Triton model repository ``repository``.

    ``name`` defaults to the file's stem. ``latent_dim`` serves a third-party generator without
    a ganedge contract, as in :func:`ganedge.load`. Raises InputError, writing nothing, when a
    model folder to write exists and is not empty (unless ``force``), when the graph has a fixed
    batch larger than ``settings.max_batch_size``, or when the file is not an .onnx model.
    """
    settings = settings or TritonSettings()
    path = Path(model)
    if path.suffix.lower() == ".ort":
        raise InputError("Triton's ONNX Runtime backend reads .onnx files, not the ORT format: "
                         "give the .onnx model", param="path")
    gen = load(path, provider="cpu", latent_dim=latent_dim)
    name = check_name(name if name is not None else path.stem)
    c = gen.contract
    folders = ([name, f"{name}_mapping", f"{name}_truncation", f"{name}_synthesis"]
               if c.is_stylegan else [name])
    repo = check_folder(repository, "repository")
    check_free(repo, folders, force)
    _check_batch(gen, settings)
    with _staging(repo) as stage:
        if c.is_stylegan:
            _write_stylegan(gen, stage, name, settings)
        else:
            _write_direct(gen, stage, name, settings)
        _move_into_place(stage, repo, folders)
    return TritonRepository(repo, name, tuple(folders), c)


def check_free(repo: Path, folders: list[str], force: bool) -> None:
    """Raise InputError if a model folder to write is a file, or (unless ``force``) a folder
    that is not empty."""
    for folder in folders:
        target = repo / folder
        if target.exists() and not target.is_dir():
            raise InputError(f"{str(target)!r} is a file: remove it or choose another `name`",
                             param="repository")
        if not force and target.is_dir() and any(target.iterdir()):
            raise InputError(f"model folder {str(target)!r} exists and is not empty: give "
                             "`force` to replace it, or another `name`", param="repository")


def _check_batch(gen: GeneratorModel, settings: TritonSettings) -> None:
    fixed = gen.static_batch
    if fixed is None:
        return
    if gen.contract.is_stylegan:
        raise InputError(f"the StyleGAN graph has a fixed batch of {fixed}; its halves must "
                         "batch freely: re-export it with a symbolic batch axis (the default "
                         "modulated-convolution form)", param="path")
    if fixed > settings.max_batch_size:
        raise InputError(f"the graph's fixed batch is {fixed}, over {settings.max_batch_size}: "
                         "raise `max_batch_size` or re-export with a symbolic batch axis",
                         param="path")


def _write_direct(gen: GeneratorModel, stage: Path, name: str,
                  settings: TritonSettings) -> None:
    c = gen.contract
    output = Tensor(c.output_name, c.output_dtype, image_dims(c))
    text = onnx_config(name, z_inputs(c), [output], settings, fixed_batch=gen.static_batch,
                       parameters=c.to_metadata())
    _write_model(stage / name, text, lambda target: shutil.copyfile(gen.path, target))


def _write_model(folder: Path, config: str, write_onnx: Callable[[Path], object]) -> None:
    (folder / VERSION).mkdir(parents=True)
    write_onnx(folder / VERSION / MODEL_FILE)
    (folder / "config.pbtxt").write_text(config, encoding="ascii")


def _write_stylegan(gen: GeneratorModel, stage: Path, name: str,
                    settings: TritonSettings) -> None:
    try:
        import onnx

        from ganedge.triton import split
    except ImportError as exc:
        raise MissingExtraError(f"a StyleGAN model is split into mapping and synthesis models "
                                f"with the {exc.name} package, which is not installed: "
                                f"{TRITON_EXTRA_HINT} brings it") from None
    c = gen.contract
    mapping, synthesis = split.halves(str(gen.path), c)
    truncation = split.truncation_model(c, mapping)
    ws = Tensor(c.ws_input_name, "float32", (c.num_ws, c.w_dim))
    mapped = Tensor(c.ws_output_name, "float32", (c.num_ws, c.w_dim))
    psi = Tensor(split.PSI, "float32", (1,))
    truncated = Tensor(split.TRUNCATED, "float32", (c.num_ws, c.w_dim))
    images = Tensor(c.output_name, "float32", image_dims(c))
    models = {
        f"{name}_mapping": (mapping, z_inputs(c), [mapped]),
        f"{name}_truncation": (truncation, [ws, psi], [truncated]),
        f"{name}_synthesis": (synthesis, [ws], [images]),
    }
    for model_name, (proto, inputs, outputs) in models.items():
        text = onnx_config(model_name, inputs, outputs, settings)
        _write_model(stage / model_name, text,
                     lambda target, proto=proto: onnx.save(proto, str(target)))
    _check_halves(gen, stage, name)
    z = {t.name: t.name for t in z_inputs(c)}
    steps = [Step(f"{name}_mapping", z, {c.ws_output_name: c.ws_output_name}),
             Step(f"{name}_truncation", {c.ws_input_name: c.ws_output_name, psi.name: psi.name},
                  {truncated.name: truncated.name}),
             Step(f"{name}_synthesis", {c.ws_input_name: truncated.name},
                  {c.output_name: c.output_name})]
    text = ensemble_config(name, [*z_inputs(c), psi], [images], steps, settings,
                           c.to_metadata())
    (stage / name / VERSION).mkdir(parents=True)  # an ensemble's version folder stays empty
    (stage / name / "config.pbtxt").write_text(text, encoding="ascii")


def _check_halves(gen: GeneratorModel, stage: Path, name: str) -> None:
    """The written halves give the source file's ws and images (ψ = 1), or ParityError."""
    c = gen.contract
    z = gen.latents(list(SPLIT_SEEDS))
    labels = np.arange(len(z)) % c.num_classes if c.conditional else None
    mapping = _session(stage / f"{name}_mapping")
    feeds = {c.input_name: z, **({c.label_input_name: labels.astype(np.int64)}
                                 if labels is not None else {})}
    (ws,) = mapping.run([c.ws_output_name], feeds)
    synthesis = _session(stage / f"{name}_synthesis")
    (images,) = synthesis.run([c.output_name], {c.ws_input_name: ws})
    diff = max(float(np.abs(ws - gen.mapping(z, labels)).max()),
               float(np.abs(images - gen.synthesis(ws)).max()))
    if diff > SPLIT_TOLERANCE:
        raise ParityError(f"the split mapping and synthesis differ from {gen.path.name} by "
                          f"{diff:.3g} (tolerance {SPLIT_TOLERANCE:g}): serve the file with "
                          "ganedge instead, and report this model")


def _session(folder: Path) -> ort.InferenceSession:
    """An ONNX Runtime CPU session of the model a repository folder holds (version 1)."""
    return ort.InferenceSession(str(folder / VERSION / MODEL_FILE),
                                providers=["CPUExecutionProvider"])


@contextlib.contextmanager
def _staging(repo: Path) -> Iterator[Path]:
    """A hidden staging folder, removed at the end whatever happens: beside ``repo`` when that
    is on the same file system (renames are atomic only within one), where a Triton polling the
    repository cannot mistake it for a model; else inside ``repo``."""
    make_folder(repo)
    with os_errors(repo, "write into"):
        parent = repo.resolve().parent
        beside = os.access(parent, os.W_OK | os.X_OK) and \
            parent.stat().st_dev == repo.stat().st_dev
        stage = Path(tempfile.mkdtemp(prefix=f".{repo.name}.ganedge-triton-",
                                      dir=parent if beside else repo))
    try:
        with os_errors(repo, "write into"):
            yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_into_place(stage: Path, repo: Path, folders: list[str]) -> None:
    """Rename the staged model folders into ``repo``; folders they replace go to the staging
    folder first and come back if a rename fails, so the repository is old or new, never mixed."""
    old = stage / ".replaced"
    old.mkdir()
    moved: list[str] = []
    try:
        for folder in folders:
            if (repo / folder).exists():
                (repo / folder).rename(old / folder)
            (stage / folder).rename(repo / folder)
            moved.append(folder)
    except OSError:
        for folder in moved:
            (repo / folder).rename(stage / folder)
        for kept in old.iterdir():
            kept.rename(repo / kept.name)
        raise
