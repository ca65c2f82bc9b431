"""The embeddable sampler: one ONNX Runtime session behind a small, torch-free API.

One seed always gives the same image, whatever n, batch size, chunking, order or thread: the
latent of a seed is drawn from its own numpy PCG64 stream, and every batch row is computed alone.
A loaded model may be shared between threads (ONNX Runtime sessions are; per-thread state is
thread-local).

Example:
    >>> import ganedge
    >>> gen = ganedge.load()                              # the bundled digits model
    >>> gen.sample(16).shape
    (16, 32, 32, 1)
    >>> bool((gen.sample([42]) == gen.sample(range(40, 50))[2]).all())
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge import budgets
from ganedge.budgets import check_bytes, check_image_bytes, check_int, check_threads
from ganedge.contract import KEY_PARITY, KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import ContractError, InputError
from ganedge.io.files import check_input_file
from ganedge.runtime import providers as prov
from ganedge.runtime.cores import threads_or_default, usable_cpus
from ganedge.runtime.graphcheck import check_graph
from ganedge.runtime.runner import Runner, SessionSpec, first_line
from ganedge.runtime.session import SessionSettings
from ganedge.sampling.labels import LabelSpec, chunk_labels, label_spec
from ganedge.sampling.latents import (
    SeedRanges,
    check_truncation,
    latents_for_seeds,
    seed_ranges,
    truncate,
)
from ganedge.sampling.stylegan import check_ws, mixed_ws, mixing_grid, truncate_ws
from ganedge.sampling.walks import WalkConfig, check_keyframes, walk_latents

DEFAULT_BATCH_SIZE = 64
DEFAULT_N = 64
Labels = int | Sequence[int] | np.ndarray | None
Chunk = tuple[list[int], np.ndarray]  # (seeds, uint8 (b, H, W, C) images)


def default_model_path() -> Path:
    """The digits generator bundled with ganedge, used when no model path is given."""
    return Path(str(resources.files("ganedge").joinpath("models", "digits.onnx")))


class GeneratorModel:
    """An exported generator loaded for sampling; create it with :func:`ganedge.load`.

    Every run goes through one :class:`ganedge.runtime.runner.Runner` (``self.runner``), whose
    behaviour on each device is set by ``settings`` (see docs/gpu.md)."""

    def __init__(self, path: str | Path | None = None, provider: str = "auto",
                 threads: int | None = None, strict_provider: bool = False,
                 latent_dim: int | None = None, io_binding: bool | None = None,
                 settings: SessionSettings | None = None, allow_nonfinite: bool = False, *,
                 cuda_graph: bool | None = None) -> None:
        self.path = _model_path(path)
        threads = check_threads(threads, usable_cpus())
        if latent_dim is not None:
            check_int(latent_dim, "latent_dim", 1, budgets.MAX_LATENT_DIM)
        self.requested = prov.requested_providers(provider)
        settings = _settings(settings, cuda_graph)
        if self.requested == [prov.OPENVINO] and (io_binding or settings.cuda_graph):
            raise InputError("OpenVINO runs without ONNX Runtime's IO binding or CUDA graphs: "
                             "leave it unset", param="cuda_graph" if settings.cuda_graph
                             else "io_binding")
        # the API's threads, else the settings' (None: the runtime's own default)
        chosen = threads if threads is not None else settings.threads
        spec = SessionSpec(self.path, tuple(self.requested), chosen, settings)
        self.session = spec.open()
        # None keeps ONNX Runtime's pinned one-thread-per-core pool (see ganedge.runtime.cores)
        self.threads = threads_or_default(chosen)
        props = self.session.get_modelmeta().custom_metadata_map
        self.contract = _read_contract(self.session, props, latent_dim)
        self.static_batch = check_graph(self.contract, self.session.get_inputs(),
                                        self.session.get_outputs())
        """The graph's fixed batch size (every run is padded to it), or None when symbolic."""
        self.provenance = read_json_metadata(props, KEY_PROVENANCE)
        self.parity = read_json_metadata(props, KEY_PARITY)
        self.allow_nonfinite = bool(allow_nonfinite)
        prov.check_in_use(provider, self.requested, self.providers, strict_provider)
        self.runner = Runner(spec, self.session, self.contract, static_batch=self.static_batch,
                             allow_nonfinite=self.allow_nonfinite, io_binding=io_binding)
        self.io_binding = self.runner.plan.io_binding

    @property
    def providers(self) -> list[str]:
        """The execution providers the session actually runs on, in priority order."""
        return list(self.session.get_providers())

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one sampled uint8 image."""
        return self.contract.height, self.contract.width, self.contract.channels

    def latents(self, seeds: Sequence[int]) -> np.ndarray:
        """The (len(seeds), latent_dim) float32 standard-normal latents of these seeds."""
        return latents_for_seeds(seeds, self.contract.latent_dim)

    def generate(self, z: np.ndarray, labels: Labels = None,
                 truncation: float = 1.0) -> np.ndarray:
        """Images of latents z (B, latent_dim): the model's raw output.

        float32 (B, C, H, W) in the contract's ``value_range``, or uint8 (B, H, W, C) for a model
        exported with a uint8 tail. A conditional model needs ``labels``: one class id for all
        rows or (B,) ids. ``truncation`` ψ acts in W for a StyleGAN model (see :meth:`mapping`),
        on z otherwise. Non-finite output raises NonFiniteOutputError unless the model was
        loaded with ``allow_nonfinite``.

        Example:
            >>> gen.generate(gen.latents([1, 2]), truncation=0.7).shape   # doctest: +SKIP
            (2, 1, 32, 32)
        """
        z = self._check_z(z)
        psi = check_truncation(truncation)
        return self._generate(z, self._ids(labels, len(z)), psi)

    def _generate(self, z: np.ndarray, ids: np.ndarray | None, psi: float, *,
                  pixels: bool = False, pad_to: int | None = None) -> np.ndarray:
        """Checked z, (B,) ids and ψ → raw output, or uint8 (B, H, W, C) ``pixels``."""
        if self.contract.is_stylegan:
            ws = self._mapping(z, ids, psi, None, pad_to)
            return self.runner.synthesis(ws, pixels=pixels, pad_to=pad_to)
        return self.runner.generate(truncate(z, psi), ids, pixels=pixels, pad_to=pad_to)

    def mapping(self, z: np.ndarray, labels: Labels = None, truncation: float = 1.0,
                truncation_cutoff: int | None = None) -> np.ndarray:
        """A StyleGAN model's ws (B, num_ws, w_dim) float32 for latents z (B, latent_dim).

        Truncation in W: w = w_avg + ψ·(w − w_avg), on the first ``truncation_cutoff`` ws when
        given (coarse styles only), with the w_avg stored in the model.

        Example:
            >>> ws = gen.mapping(gen.latents([85]), truncation=0.7)       # doctest: +SKIP
            >>> gen.synthesis(ws).shape                                     # doctest: +SKIP
            (1, 3, 64, 64)
        """
        c = self._stylegan("mapping")
        z = self._check_z(z)
        psi = check_truncation(truncation)
        cutoff = None if truncation_cutoff is None else check_int(
            truncation_cutoff, "truncation_cutoff", 0, c.num_ws)
        return self._mapping(z, self._ids(labels, len(z)), psi, cutoff)

    def _mapping(self, z: np.ndarray, ids: np.ndarray | None, psi: float, cutoff: int | None,
                 pad_to: int | None = None) -> np.ndarray:
        ws = self.runner.mapping(z, ids, pad_to=pad_to)
        return truncate_ws(ws, np.asarray(self.contract.w_avg, np.float32), psi, cutoff)

    def synthesis(self, ws: np.ndarray) -> np.ndarray:
        """A StyleGAN model's float32 (B, C, H, W) images for ws (B, num_ws, w_dim)."""
        c = self._stylegan("synthesis")
        return self.runner.synthesis(check_ws(ws, c))

    def mix(self, rows: Sequence[int], cols: Sequence[int], styles: Sequence[int] | None = None,
            *, truncation: float = 1.0, label: int | None = None,
            batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """NVlabs' style-mixing figure as uint8 (H·(R+1), W·(C+1), ch): each row seed's ws with
        the ``styles`` indices (default 0-6, the coarse ones) taken from each column seed; the
        column seeds' images along the top, the row seeds' down the left.

        Example:
            >>> gen.mix([85, 100], [55, 821], range(7)).shape             # doctest: +SKIP
            (192, 192, 3)
        """
        c = self._stylegan("mix")
        rows, cols = list(seed_ranges(rows)), list(seed_ranges(cols))
        for name, seeds in (("rows", rows), ("cols", cols)):
            if not seeds:
                raise InputError("must name at least one seed", param=name)
        self._check_result_bytes((len(rows) + 1) * (len(cols) + 1), "rows")
        styles = list(range(min(7, c.num_ws)) if styles is None else styles)
        if not styles or min(styles) < 0 or max(styles) >= c.num_ws:
            raise InputError(f"indices must lie in [0, {c.num_ws - 1}] (got {styles})",
                             param="styles")
        psi = check_truncation(truncation)
        batch_size = self._check_batch_size(batch_size)
        if c.conditional and label is None:
            label = rows[0] % c.num_classes
        seeds = rows + cols  # one mapping run for all of them
        ids = self._ids(label, len(seeds))
        ws = self._mapping(self.latents(seeds), ids, psi, None, batch_size)
        row_ws, col_ws = ws[:len(rows)], ws[len(rows):]
        sources = self._ws_images(ws, batch_size)
        mixed = self._ws_images(mixed_ws(row_ws, col_ws, styles), batch_size)
        return mixing_grid(sources[:len(rows)], sources[len(rows):], mixed)

    def _stylegan(self, what: str) -> ModelContract:
        if not self.contract.is_stylegan:
            raise InputError(f"{what} needs a StyleGAN model (mapping + synthesis); "
                             f"{self.path.name} maps z to images directly: use generate()",
                             param="model")
        return self.contract

    def _ids(self, labels: Labels, count: int) -> np.ndarray | None:
        """(count,) int64 class ids of a call's checked labels (None: unconditional)."""
        spec = label_spec(self.contract, labels, count, required=True)
        return chunk_labels(self.contract, spec, None, slice(0, count))

    def _ws_images(self, ws: np.ndarray, batch_size: int,
                   on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.empty((len(ws), *self.image_shape), np.uint8)
        for i in range(0, len(ws), batch_size):
            out[i:i + batch_size] = self.runner.synthesis(ws[i:i + batch_size], pixels=True,
                                                          pad_to=batch_size)
            if on_batch is not None:
                on_batch(len(ws[i:i + batch_size]))
        return out

    def images(self, z: np.ndarray, labels: Labels = None,
               batch_size: int = DEFAULT_BATCH_SIZE,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """uint8 (N, H, W, C) images of latents z (N, latent_dim), run ``batch_size`` at a time;
        ``on_batch`` is told how many images each finished batch held."""
        batch_size = self._check_batch_size(batch_size)
        z = self._check_z(z)
        self._check_result_bytes(len(z), "z")
        spec = label_spec(self.contract, labels, len(z), required=True)
        return self._images(z, spec, batch_size, on_batch)

    def _images(self, z: np.ndarray, spec: LabelSpec, batch_size: int,
                on_batch: Callable[[int], None] | None) -> np.ndarray:
        out = np.empty((len(z), *self.image_shape), np.uint8)
        for i in range(0, len(z), batch_size):
            rows = slice(i, min(i + batch_size, len(z)))
            out[rows] = self._generate(z[rows], chunk_labels(self.contract, spec, None, rows),
                                       1.0, pixels=True, pad_to=batch_size)
            if on_batch is not None:
                on_batch(rows.stop - rows.start)
        return out

    def iter_samples(self, seeds: Sequence[int], truncation: float = 1.0, labels: Labels = None,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Chunk]:
        """Yield (seeds, uint8 (b, H, W, C) images) chunk by chunk: memory stays at one batch.

        ``seeds`` may be lazy (a range, or :func:`ganedge.sampling.latents.parse_seeds`'s result),
        so a billion seeds stream without a billion-item list.
        """
        seeds = seed_ranges(seeds)
        batch_size = self._check_batch_size(batch_size)
        psi = check_truncation(truncation)
        spec = label_spec(self.contract, labels, len(seeds), required=False)
        # checked above, before the first chunk is asked for: a bad input fails at the call
        return self._chunks(seeds, psi, spec, batch_size)

    def _chunks(self, seeds: SeedRanges, psi: float, spec: LabelSpec,
                batch_size: int) -> Iterator[Chunk]:
        for i in range(0, len(seeds), batch_size):
            chunk = list(seeds[i : i + batch_size])
            ids = chunk_labels(self.contract, spec, chunk, slice(i, i + batch_size))
            yield chunk, self._generate(self.latents(chunk), ids, psi, pixels=True,
                                        pad_to=batch_size)

    def sample(self, n_or_seeds: int | Sequence[int] | None = None, *, seed: int = 0,
               seeds: Sequence[int] | None = None, truncation: float = 1.0, labels: Labels = None,
               batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Images as uint8 (N, H, W, C).

        ``n_or_seeds`` is a count n (seeds seed..seed+n−1; 64 when nothing is given) or the seeds
        themselves. ``truncation`` ψ in [0, 1] pulls latents toward the prior's mean (zero):
        z' = ψ z; for a StyleGAN model it acts in W, toward w_avg (see :meth:`mapping`).
        ``labels`` for a conditional model: one class for all images, one per image, or
        None for seed % num_classes. At most ``budgets.MAX_IN_MEMORY_BYTES`` of images are
        returned at once; :meth:`iter_samples` streams any number.
        """
        seed_list = resolve_seeds(n_or_seeds, seed, seeds)
        self._check_result_bytes(len(seed_list), "n_or_seeds")
        out = np.empty((len(seed_list), *self.image_shape), np.uint8)
        row = 0
        for chunk, images in self.iter_samples(seed_list, truncation, labels, batch_size):
            out[row : row + len(chunk)] = images
            row += len(chunk)
        return out

    def walk(self, keyframes: Sequence[int] = (0, 1, 2, 3), *, frames: int = 24,
             interpolation: str | None = None, easing: str = "smooth", loop: bool = True,
             truncation: float = 1.0, label: int | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE,
             on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """The uint8 (F, H, W, C) frames of a latent walk through the keyframe seeds.

        See :mod:`ganedge.sampling.walks` for the frame count;
        frame j·frames is keyframe seed j's image.
        A StyleGAN model walks in W between the keyframes' (truncated) ws, by lerp unless
        ``interpolation`` says otherwise; other models walk in z, by slerp by default.
        A conditional model walks within one class: ``label``, or keyframes[0] % num_classes.
        ``on_batch`` is told how many frames each finished batch held.
        """
        keys = list(seed_ranges(_keyframe_list(keyframes)))
        check_keyframes(len(keys))
        stylegan = self.contract.is_stylegan
        config = WalkConfig(frames=frames, easing=easing, loop=loop,
                            interpolation=interpolation or ("lerp" if stylegan else "slerp"))
        total = check_int(config.num_frames(len(keys)), "frames", high=budgets.MAX_WALK_FRAMES,
                          hint=": frames of the whole walk; use fewer keyframes or frames")
        c = self.contract
        width = c.num_ws * c.w_dim if stylegan else c.latent_dim  # float64 while interpolating
        check_bytes(total, 8 * width, "frames", budgets.MAX_IN_MEMORY_BYTES,
                    f"the latents of {total:,} frames", "fewer frames")
        self._check_result_bytes(total, "frames")
        batch_size = self._check_batch_size(batch_size)
        psi = check_truncation(truncation)
        if self.contract.conditional and label is None:
            label = keys[0] % self.contract.num_classes
        spec = label_spec(self.contract, label, 1, required=True)
        if not stylegan:
            z = truncate(walk_latents(self.latents(keys), config), psi)
            return self._images(z, spec, batch_size, on_batch)
        ids = chunk_labels(self.contract, spec, None, slice(0, len(keys)))
        key_ws = self._mapping(self.latents(keys), ids, psi, None, batch_size)
        path = walk_latents(key_ws.reshape(len(keys), -1), config)
        return self._ws_images(path.reshape(-1, *key_ws.shape[1:]), batch_size, on_batch)

    def _check_z(self, z: np.ndarray) -> np.ndarray:
        """z as contiguous float32 (B, latent_dim), B >= 1."""
        try:
            with np.errstate(over="ignore"):  # a float64 beyond float32 becomes inf: refused below
                z = np.ascontiguousarray(z, dtype=np.float32)
        except (TypeError, ValueError):
            raise InputError(f"must be a float array (got {type(z).__name__})", param="z") from None
        if z.ndim != 2 or z.shape[1] != self.contract.latent_dim or not len(z):
            raise InputError(f"expected shape (B, {self.contract.latent_dim}) with B >= 1 "
                             f"(got {tuple(z.shape)})", param="z")
        if not np.isfinite(z).all():
            raise InputError("holds NaN or Inf: latents must be finite", param="z")
        return z

    def _check_batch_size(self, batch_size: int) -> int:
        batch_size = check_int(batch_size, "batch_size", 1, budgets.MAX_BATCH)
        c = self.contract
        check_bytes(batch_size, 4 * max(c.latent_dim, c.channels * c.height * c.width),
                    "batch_size", budgets.MAX_BATCH_BYTES, f"a batch of {batch_size:,}",
                    "lower the batch size")
        return batch_size

    def _check_result_bytes(self, count: int, param: str) -> None:
        check_image_bytes(count, self.image_shape, param,
                          "ask for fewer at once, or stream them (iter_samples, per-image files)")


def load(path: str | Path | None = None, provider: str = "auto", threads: int | None = None,
         strict_provider: bool = False, latent_dim: int | None = None,
         allow_nonfinite: bool = False, *, settings: SessionSettings | None = None,
         cuda_graph: bool | None = None) -> GeneratorModel:
    """Load an exported ganedge model (default: the bundled digits model) for sampling.

    ``provider`` is "auto" (CUDA when a session really runs on it, else CPU), "cpu", "cuda",
    "tensorrt", or "openvino" (OpenVINO's CPU plugin on the same .onnx, an extra: see
    ganedge.runtime.ovsession); when the session does not run on the provider asked for, ganedge
    warns once with the likely cause, or raises ProviderError with ``strict_provider``. ``threads``
    sets ONNX Runtime's intra-op threads (default: the cores this process may use; at most 4 per
    usable CPU). ``latent_dim`` lets a third-party generator without a ganedge contract run: one
    float input (B, latent_dim), one output (B, C, H, W) in [-1, 1]. ``allow_nonfinite`` writes
    NaN/Inf output as the range's ends instead of raising NonFiniteOutputError. ``settings`` tunes
    the sessions (:class:`ganedge.runtime.session.SessionSettings`: cuDNN search, TF32, IO binding,
    …); ``cuda_graph`` turns CUDA graphs on or off over them (see docs/gpu.md).
    The file's contract is checked against its graph here; every failure is a GanEdgeError.

    Example:
        >>> gen = ganedge.load("model.onnx", provider="cuda", cuda_graph=True)  # doctest: +SKIP
    """
    return GeneratorModel(path, provider=provider, threads=threads,
                          strict_provider=strict_provider, latent_dim=latent_dim,
                          allow_nonfinite=allow_nonfinite, settings=settings,
                          cuda_graph=cuda_graph)


def _settings(settings: SessionSettings | None, cuda_graph: bool | None) -> SessionSettings:
    """``settings`` (default: SessionSettings()) with ``cuda_graph`` applied when given."""
    if settings is not None and not isinstance(settings, SessionSettings):
        raise InputError(f"must be a SessionSettings (got {type(settings).__name__})",
                         param="settings")
    settings = settings or SessionSettings()
    if cuda_graph is None:
        return settings
    if not isinstance(cuda_graph, bool):
        raise InputError(f"must be True or False (got {cuda_graph!r})", param="cuda_graph")
    return replace(settings, cuda_graph=cuda_graph)


def resolve_seeds(n_or_seeds: int | Sequence[int] | None, seed: int = 0,
                  seeds: Sequence[int] | None = None) -> SeedRanges:
    """The (lazy) seeds of a sample call: n seeds from ``seed`` on, or the seeds given."""
    if seeds is not None or _is_seed_list(n_or_seeds):
        if seeds is not None and n_or_seeds is not None:
            raise InputError("give a count or seeds, not both", param="seeds")
        return seed_ranges(n_or_seeds if seeds is None else seeds)
    n = DEFAULT_N if n_or_seeds is None else check_int(n_or_seeds, "n_or_seeds", 1,
                                                       budgets.MAX_SEEDS)
    seed = check_int(seed, "seed", 0, budgets.MAX_SEED - n + 1)
    return SeedRanges([range(seed, seed + n)])


def _is_seed_list(value: object) -> bool:
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def _keyframe_list(keyframes: Sequence[int]) -> Sequence[int]:
    """Keyframes checked for count before anything is listed."""
    if not _is_seed_list(keyframes):
        raise InputError(f"must be a sequence of seeds (got {type(keyframes).__name__})",
                         param="keyframes")
    check_int(len(keyframes), "keyframes", high=budgets.MAX_WALK_FRAMES)
    return keyframes


def _model_path(path: str | Path | None) -> Path:
    if path is None:
        return default_model_path()
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"must be a file path (got {type(path).__name__})", param="path")
    return check_input_file(Path(path), "path", "a .onnx or .ort file path")


def _read_contract(session: ort.InferenceSession, props: dict[str, str],
                   latent_dim: int | None) -> ModelContract:
    """The model's ganedge contract, or one built from its graph when ``latent_dim`` is given."""
    if latent_dim is None:
        return ModelContract.from_metadata(props)
    try:
        contract = ModelContract.from_metadata(props)
    except ContractError:
        return _third_party_contract(session, latent_dim)
    if contract.latent_dim != latent_dim:
        raise InputError(f"the model's contract says {contract.latent_dim} (got {latent_dim}): "
                         "drop it", param="latent_dim")
    return contract


def _third_party_contract(session: ort.InferenceSession, latent_dim: int) -> ModelContract:
    """A contract for a generator with one float input (B, latent_dim) and one (B, C, H, W)
    output in [-1, 1]; the output size is read from the graph or from one probe run."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    hint = ("a third-party generator needs one float input (B, latent_dim) and one (B, C, H, W) "
            "float output")
    if len(inputs) != 1 or len(outputs) != 1 or inputs[0].type != "tensor(float)":
        raise ContractError(f"model: {len(inputs)} input(s), {len(outputs)} output(s): {hint}")
    dims = inputs[0].shape
    if not dims or len(dims) != 2 or (isinstance(dims[1], int) and dims[1] != latent_dim):
        raise InputError(f"the model's input is {dims} (got {latent_dim}): {hint}",
                         param="latent_dim")
    shape = outputs[0].shape
    if not shape or len(shape) != 4:
        raise ContractError(f"model: output shape {shape} is not (B, C, H, W): {hint}")
    if not all(isinstance(d, int) for d in shape[1:]):
        shape = _probe_shape(session, inputs[0].name, latent_dim, dims[0])
    try:
        return ModelContract(latent_dim=latent_dim, channels=shape[1], height=shape[2],
                             width=shape[3], input_name=inputs[0].name,
                             output_name=outputs[0].name)
    except ContractError as exc:
        raise ContractError(f"model: {exc.message.replace('re-export the model', hint)}") \
            from None


def _probe_shape(session: ort.InferenceSession, name: str, latent_dim: int,
                 batch: object) -> tuple[int, ...]:
    """The output shape of one run at the graph's batch size (its fixed one, or 1)."""
    rows = batch if isinstance(batch, int) and 0 < batch <= budgets.MAX_BATCH else 1
    try:
        out = session.run(None, {name: np.zeros((rows, latent_dim), np.float32)})[0]
    except Exception as exc:  # ORT's own errors: the graph fails on a plain latent
        raise ContractError(f"model: a probe run failed ({first_line(exc)}): check "
                            "latent_dim") from None
    if out.ndim != 4:
        raise ContractError(f"model: output shape {out.shape} is not (B, C, H, W)")
    return tuple(int(d) for d in out.shape)
