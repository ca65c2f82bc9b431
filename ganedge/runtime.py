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

import contextlib
import io
import threading
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ganedge import providers as prov
from ganedge.contract import KEY_PARITY, KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import ContractError, InputError
from ganedge.cores import threads_or_default
from ganedge.imaging import to_uint8_nhwc
from ganedge.iobinding import BoundRunner
from ganedge.latents import check_truncation, latents_for_seeds, truncate
from ganedge.stylegan import check_ws, idle_feeds, mixed_ws, mixing_grid, truncate_ws
from ganedge.session import SessionSettings, create_session
from ganedge.walks import WalkConfig, check_keyframes, walk_latents

DEFAULT_BATCH_SIZE = 64
DEFAULT_N = 64
Labels = int | Sequence[int] | np.ndarray | None
Chunk = tuple[list[int], np.ndarray]  # (seeds, uint8 (b, H, W, C) images)


def default_model_path() -> Path:
    """The digits generator bundled with ganedge, used when no model path is given."""
    return Path(str(resources.files("ganedge").joinpath("models", "digits.onnx")))


class GeneratorModel:
    """An exported generator loaded for sampling; create it with :func:`ganedge.load`."""

    def __init__(self, path: str | Path | None = None, provider: str = "auto",
                 threads: int | None = None, strict_provider: bool = False,
                 latent_dim: int | None = None, io_binding: bool | None = None,
                 settings: SessionSettings | None = None) -> None:
        self.path = default_model_path() if path is None else Path(path)
        if not self.path.is_file():
            raise InputError(f"model: {str(self.path)!r} does not exist: give a .onnx or .ort file path")
        self.requested = prov.requested_providers(provider)
        # ORT prints an "EP Error" banner to stdout when TensorRT cannot start; our own one-line
        # warning below says what happened instead
        quiet = prov.TENSORRT in self.requested
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            self.session = create_session(self.path, self.requested, threads, settings)
        # None keeps ONNX Runtime's pinned one-thread-per-core pool (see ganedge.cores)
        self.threads = threads_or_default(threads if threads is not None or settings is None
                                          else settings.threads)
        props = self.session.get_modelmeta().custom_metadata_map
        self.contract = _read_contract(self.session, props, latent_dim)
        self.provenance = read_json_metadata(props, KEY_PROVENANCE)
        self.parity = read_json_metadata(props, KEY_PARITY)
        prov.check_in_use(provider, self.requested, self.providers, strict_provider)
        on_cuda = self.providers[0] in (prov.CUDA, prov.TENSORRT)
        self.io_binding = on_cuda if io_binding is None else io_binding
        self._device = "cuda" if on_cuda else "cpu"
        self._local = threading.local()

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

        float32 (B, C, H, W) in [-1, 1], or uint8 (B, H, W, C) for a model exported with a uint8
        tail. A conditional model needs ``labels``: one class id for all rows or (B,) ids.
        ``truncation`` ψ acts in W for a StyleGAN model (see :meth:`mapping`), on z otherwise.

        Example:
            >>> gen.generate(gen.latents([1, 2]), truncation=0.7).shape   # doctest: +SKIP
            (2, 1, 32, 32)
        """
        if self.contract.is_stylegan:
            return self.synthesis(self.mapping(z, labels, truncation))
        feeds = self._z_feeds(z, labels)
        feeds[self.contract.input_name] = truncate(feeds[self.contract.input_name], truncation)
        return self._run_bound(feeds) if self.io_binding else self._run(feeds)

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
        feeds = {**self._z_feeds(z, labels), **idle_feeds(c, "mapping")}
        (ws,) = self.session.run([c.ws_output_name], feeds)
        return truncate_ws(ws, np.asarray(c.w_avg, np.float32), truncation, truncation_cutoff)

    def synthesis(self, ws: np.ndarray) -> np.ndarray:
        """A StyleGAN model's float32 (B, C, H, W) images for ws (B, num_ws, w_dim)."""
        c = self._stylegan("synthesis")
        feeds = {c.ws_input_name: check_ws(ws, c), **idle_feeds(c, "synthesis")}
        (images,) = self.session.run([c.output_name], feeds)
        return images

    def mix(self, rows: Sequence[int], cols: Sequence[int], styles: Sequence[int] | None = None,
            *, truncation: float = 1.0, label: int | None = None) -> np.ndarray:
        """NVlabs' style-mixing figure as uint8 (H·(R+1), W·(C+1), ch): each row seed's ws with
        the ``styles`` indices (default 0-6, the coarse ones) taken from each column seed; the
        column seeds' images along the top, the row seeds' down the left.

        Example:
            >>> gen.mix([85, 100], [55, 821], range(7)).shape             # doctest: +SKIP
            (192, 192, 3)
        """
        c = self._stylegan("mix")
        rows, cols = [_check_seed(s) for s in rows], [_check_seed(s) for s in cols]
        for name, seeds in (("rows", rows), ("cols", cols)):
            if not seeds:
                raise InputError("must name at least one seed", param=name)
        styles = list(range(min(7, c.num_ws)) if styles is None else styles)
        if not styles or min(styles) < 0 or max(styles) >= c.num_ws:
            raise InputError(f"indices must lie in [0, {c.num_ws - 1}] (got {styles})",
                             param="styles")
        if c.conditional and label is None:
            label = rows[0] % c.num_classes
        row_ws = self.mapping(self.latents(rows), label, truncation)
        col_ws = self.mapping(self.latents(cols), label, truncation)
        sources = self._to_uint8(self.synthesis(np.concatenate([row_ws, col_ws])))
        mixed = self._ws_images(mixed_ws(row_ws, col_ws, styles))
        return mixing_grid(sources[:len(rows)], sources[len(rows):], mixed)

    def _stylegan(self, what: str) -> ModelContract:
        if not self.contract.is_stylegan:
            raise InputError(f"{what} needs a StyleGAN model (mapping + synthesis); "
                             f"{self.path.name} maps z to images directly: use generate()",
                             param="model")
        return self.contract

    def _ws_images(self, ws: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        out = np.empty((len(ws), *self.image_shape), np.uint8)
        for i in range(0, len(ws), batch_size):
            out[i:i + batch_size] = self._to_uint8(self.synthesis(ws[i:i + batch_size]))
        return out

    def _z_feeds(self, z: np.ndarray, labels: Labels) -> dict[str, np.ndarray]:
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.contract.latent_dim:
            raise InputError(f"expected shape (B, {self.contract.latent_dim}) "
                             f"(got {tuple(z.shape)})", param="z")
        feeds = {self.contract.input_name: z}
        label_ids = self._check_labels(labels, len(z))
        if label_ids is not None:
            feeds[self.contract.label_input_name] = label_ids
        return feeds

    def images(self, z: np.ndarray, labels: Labels = None,
               batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """uint8 (N, H, W, C) images of latents z (N, latent_dim), run ``batch_size`` at a time."""
        _check_batch_size(batch_size)
        label_ids = self._check_labels(labels, len(z))
        out = np.empty((len(z), *self.image_shape), np.uint8)
        for i in range(0, len(z), batch_size):
            rows = slice(i, i + batch_size)
            out[rows] = self._to_uint8(self.generate(z[rows], None if label_ids is None
                                                     else label_ids[rows]))
        return out

    def iter_samples(self, seeds: Sequence[int], truncation: float = 1.0, labels: Labels = None,
                     batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Chunk]:
        """Yield (seeds, uint8 (b, H, W, C) images) chunk by chunk: memory stays at one batch."""
        seeds = [_check_seed(s) for s in seeds]
        _check_batch_size(batch_size)
        check_truncation(truncation)
        label_ids = self._labels_for_seeds(seeds, labels)
        # checked above, before the first chunk is asked for: a bad input fails at the call
        return self._chunks(seeds, truncation, label_ids, batch_size)

    def _chunks(self, seeds: list[int], truncation: float, label_ids: np.ndarray | None,
                batch_size: int) -> Iterator[Chunk]:
        for i in range(0, len(seeds), batch_size):
            chunk = seeds[i : i + batch_size]
            chunk_labels = None if label_ids is None else label_ids[i : i + batch_size]
            yield chunk, self._to_uint8(self.generate(self.latents(chunk), chunk_labels,
                                                      truncation))

    def sample(self, n_or_seeds: int | Sequence[int] | None = None, *, seed: int = 0,
               seeds: Sequence[int] | None = None, truncation: float = 1.0, labels: Labels = None,
               batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Images as uint8 (N, H, W, C).

        ``n_or_seeds`` is a count n (seeds seed..seed+n−1; 64 when nothing is given) or the seeds
        themselves. ``truncation`` ψ in [0, 1] pulls latents toward the prior's mean (zero):
        z' = ψ z; for a StyleGAN model it acts in W, toward w_avg (see :meth:`mapping`). ``labels`` for a conditional model: one class for all images, one per image, or
        None for seed % num_classes.
        """
        seed_list = resolve_seeds(n_or_seeds, seed, seeds)
        out = np.empty((len(seed_list), *self.image_shape), np.uint8)
        row = 0
        for chunk, images in self.iter_samples(seed_list, truncation, labels, batch_size):
            out[row : row + len(chunk)] = images
            row += len(chunk)
        return out

    def walk(self, keyframes: Sequence[int] = (0, 1, 2, 3), *, frames: int = 24,
             interpolation: str | None = None, easing: str = "smooth", loop: bool = True,
             truncation: float = 1.0, label: int | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """The uint8 (F, H, W, C) frames of a latent walk through the keyframe seeds.

        See :mod:`ganedge.walks` for the frame count; frame j·frames is keyframe seed j's image.
        A StyleGAN model walks in W between the keyframes' (truncated) ws, by lerp unless
        ``interpolation`` says otherwise; other models walk in z, by slerp by default.
        A conditional model walks within one class: ``label``, or keyframes[0] % num_classes.
        """
        keys = [_check_seed(s) for s in keyframes]
        check_keyframes(len(keys))
        stylegan = self.contract.is_stylegan
        config = WalkConfig(frames=frames, easing=easing, loop=loop,
                            interpolation=interpolation or ("lerp" if stylegan else "slerp"))
        if self.contract.conditional and label is None:
            label = keys[0] % self.contract.num_classes
        if not stylegan:
            z = truncate(walk_latents(self.latents(keys), config), truncation)
            return self.images(z, labels=label, batch_size=batch_size)
        _check_batch_size(batch_size)
        key_ws = self.mapping(self.latents(keys), label, truncation)
        path = walk_latents(key_ws.reshape(len(keys), -1), config)
        return self._ws_images(path.reshape(-1, *key_ws.shape[1:]), batch_size)

    def _to_uint8(self, out: np.ndarray) -> np.ndarray:
        return out if self.contract.output_dtype == "uint8" else to_uint8_nhwc(out)

    def _labels_for_seeds(self, seeds: Sequence[int], labels: Labels) -> np.ndarray | None:
        if labels is None and self.contract.conditional:
            return np.asarray(seeds, np.int64) % self.contract.num_classes
        return self._check_labels(labels, len(seeds))

    def _check_labels(self, labels: Labels, count: int) -> np.ndarray | None:
        """(count,) int64 class ids, or None for an unconditional model."""
        c = self.contract
        if not c.conditional:
            if labels is not None:
                raise InputError("--label: this model is unconditional (num_classes 0): drop it")
            return None
        if labels is None:
            raise InputError(f"--label: this model is conditional ({c.num_classes} classes): "
                             f"give a class id in [0, {c.num_classes - 1}]")
        ids = np.broadcast_to(np.asarray(labels, np.int64), (count,)) if np.ndim(labels) == 0 \
            else np.asarray(labels, np.int64)
        if ids.shape != (count,):
            raise InputError(f"--label: expected one label or {count} (got {ids.shape[0]})")
        bad = ids[(ids < 0) | (ids >= c.num_classes)]
        if bad.size:
            raise InputError(f"--label: must be in [0, {c.num_classes - 1}] (got {int(bad[0])})")
        return np.ascontiguousarray(ids)

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        (out,) = self.session.run([self.contract.output_name], feeds)
        return out

    def _run_bound(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Run through this thread's :class:`BoundRunner` (buffers reused per batch size, fixed
        device addresses on CUDA); the result is copied out of the reused output buffer."""
        runner = getattr(self._local, "runner", None)
        if runner is None:
            c = self.contract
            runner = self._local.runner = BoundRunner(
                self.session, c.input_name, c.output_name, self._device,
                label_name=c.label_input_name if c.conditional else None, max_slots=4)
        out = runner(feeds[self.contract.input_name], feeds.get(self.contract.label_input_name))
        return np.array(out) if self._device == "cpu" else out

def load(path: str | Path | None = None, provider: str = "auto", threads: int | None = None,
         strict_provider: bool = False, latent_dim: int | None = None) -> GeneratorModel:
    """Load an exported ganedge model (default: the bundled digits model) for sampling.

    ``provider`` is "auto" (CUDA when a session really runs on it, else CPU), "cpu", "cuda" or
    "tensorrt"; when the session does not run on the provider asked for, ganedge warns once with
    the likely cause, or raises ProviderError with ``strict_provider``. ``threads`` sets ONNX
    Runtime's intra-op threads (default: the cores this process may use). ``latent_dim`` lets a
    third-party generator without a ganedge contract run: one float input (B, latent_dim), one
    output (B, C, H, W) in [-1, 1].
    """
    return GeneratorModel(path, provider=provider, threads=threads,
                          strict_provider=strict_provider, latent_dim=latent_dim)


def resolve_seeds(n_or_seeds: int | Sequence[int] | None, seed: int = 0,
                  seeds: Sequence[int] | None = None) -> list[int]:
    """The seed list of a sample call: n seeds from ``seed`` on, or the seeds given."""
    if isinstance(n_or_seeds, (int, np.integer)) or n_or_seeds is None:
        if seeds is not None:
            if n_or_seeds is not None:
                raise InputError("-n/--seeds: give one of them, not both")
            return _seed_list(seeds)
        n = DEFAULT_N if n_or_seeds is None else int(n_or_seeds)
        if n < 1:
            raise InputError(f"-n: must be at least 1 (got {n})")
        _check_seed(seed, "--seed")
        return list(range(seed, seed + n))
    if seeds is not None:
        raise InputError("-n/--seeds: give one of them, not both")
    return _seed_list(n_or_seeds)


def _seed_list(seeds: Sequence[int]) -> list[int]:
    seed_list = [_check_seed(s) for s in seeds]
    if not seed_list:
        raise InputError("--seeds: must name at least one seed")
    return seed_list


def _check_seed(seed: int, what: str = "seed") -> int:
    if int(seed) != seed or seed < 0:
        raise InputError(f"{what}: must be a non-negative integer (got {seed})")
    return int(seed)


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise InputError(f"--batch-size: must be at least 1 (got {batch_size})")


def _read_contract(session: ort.InferenceSession, props: dict[str, str],
                   latent_dim: int | None) -> ModelContract:
    """The model's ganedge contract, or one built from its graph when ``latent_dim`` is given."""
    if latent_dim is None:
        return ModelContract.from_metadata(props)
    if latent_dim < 1:
        raise InputError(f"--latent-dim: must be at least 1 (got {latent_dim})")
    try:
        contract = ModelContract.from_metadata(props)
    except ContractError:
        return _third_party_contract(session, latent_dim)
    if contract.latent_dim != latent_dim:
        raise InputError(f"--latent-dim: the model's contract says {contract.latent_dim} "
                         f"(got {latent_dim}): drop --latent-dim")
    return contract


def _third_party_contract(session: ort.InferenceSession, latent_dim: int) -> ModelContract:
    """A contract for a generator with one float input (B, latent_dim) and one (B, C, H, W)
    output in [-1, 1]; the output size is read from the graph or from one probe run."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    hint = ("a third-party generator needs one float input (B, latent_dim) and one (B, C, H, W) "
            "output")
    if len(inputs) != 1 or len(outputs) != 1 or inputs[0].type != "tensor(float)":
        raise ContractError(f"model: {len(inputs)} input(s), {len(outputs)} output(s): {hint}")
    dims = inputs[0].shape
    if len(dims) != 2 or (isinstance(dims[1], int) and dims[1] != latent_dim):
        raise ContractError(f"--latent-dim: the model's input is {dims} (got {latent_dim}): {hint}")
    shape = outputs[0].shape
    if len(shape) != 4:
        raise ContractError(f"model: output shape {shape} is not (B, C, H, W): {hint}")
    if not all(isinstance(d, int) for d in shape[1:]):
        probe = np.zeros((1, latent_dim), np.float32)
        shape = session.run(None, {inputs[0].name: probe})[0].shape
    return ModelContract(latent_dim=latent_dim, channels=shape[1], height=shape[2],
                         width=shape[3], input_name=inputs[0].name, output_name=outputs[0].name)
