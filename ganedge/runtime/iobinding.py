"""IO binding: a session's inputs and outputs live in buffers allocated once per batch size.

:class:`ganedge.runtime.runner.Runner` runs every bound session through :class:`BoundRunner`
(sample, walk, mix, eval and the benchmark's ganedge candidates all go through that runner).

``session.run`` allocates a fresh output array on every call and, on CUDA, copies inputs to the
device and outputs back inside the call. A bound runner keeps one set of buffers per batch size
(a *slot*: on the device for CUDA, where CUDA graphs also need fixed addresses) and reuses them.
With a ``post`` session (ganedge/models/postprocess.onnx) the model's float output is turned into
uint8 pixels and a non-finite flag on the same device, OrtValue to OrtValue, so only the pixels
(4× fewer bytes) and one float come back, into host buffers reused per slot.

With ``cuda_graph`` each slot runs under its own ``gpu_graph_id`` (ONNX Runtime captures one graph
per id on its first run and replays it after): ids are never reused for other buffers, and slots
are never dropped, so a replay always reads and writes the addresses it was captured with. Batch
sizes are then padded up to a power of two, which bounds the number of captured graphs.

Example:
    >>> runner = BoundRunner(session, "z", "images", buckets=(1, 8, 64))   # doctest: +SKIP
    >>> runner(z).shape                                                     # doctest: +SKIP
    (5, 3, 64, 64)
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from ganedge.errors import InputError

GRAPH_ID_KEY = "gpu_graph_id"  # ONNX Runtime's run option naming a CUDA graph (0 is reserved)


@dataclass
class _Post:
    """The bound post-processing run of one slot: pixels and the non-finite flag on the host."""

    binding: ort.IOBinding
    pixels: np.ndarray  # (bucket, H, W, C) uint8, reused
    nonfinite: np.ndarray  # () float32, 1.0 when the model's output held NaN/Inf


@dataclass
class _Slot:
    """The bound buffers of one batch bucket."""

    binding: ort.IOBinding
    x: ort.OrtValue  # (bucket, ...) float32 input on the device
    x_host: np.ndarray | None  # the CPU input's own memory, written in place (None on CUDA)
    out: ort.OrtValue  # the output on the device
    out_host: np.ndarray | None  # the CPU output's own memory (None on CUDA: copied back)
    labels: ort.OrtValue | None  # (bucket,) int64 class ids of a conditional model, else None
    options: ort.RunOptions | None  # the slot's own gpu_graph_id under CUDA graphs
    post: _Post | None = None  # made on the first call that wants pixels


def graph_buckets(batch: int) -> int:
    """The batch size a CUDA-graph run of ``batch`` rows uses: the next power of two."""
    return 1 << max(0, batch - 1).bit_length()


class BoundRunner:
    """Callable ``x (B, ...) float32 → output`` over one session with reused buffers.

    The returned array is a view of a reused buffer on CPU: copy it before the next call if you
    keep it. ``device`` is "cpu" or "cuda"; ``buckets`` (ascending batch sizes) pads each call up
    to the smallest bucket that holds it, or None to bind every batch size as it comes.
    ``max_slots`` caps how many batch sizes keep buffers (a full batch and a remainder are
    typical; stray sizes beyond the cap drop the others; ignored with ``cuda_graph``).
    ``idle``: constant feeds bound once per slot (a StyleGAN half's idle input). ``graph_ids``:
    the session's id counter when several runners share it under ``cuda_graph``. Not
    thread-safe: one runner per thread, and with ``cuda_graph`` runs serialised per session.
    """

    def __init__(self, session: ort.InferenceSession, input_name: str, output_name: str,
                 device: str = "cpu", buckets: Sequence[int] | None = None,
                 label_name: str | None = None, max_slots: int | None = None, *,
                 idle: Mapping[str, np.ndarray] | None = None, cuda_graph: bool = False,
                 post: ort.InferenceSession | None = None,
                 value_range: tuple[float, float] = (-1.0, 1.0),
                 graph_ids: Iterator[int] | None = None) -> None:
        if device not in ("cpu", "cuda"):
            raise InputError(f"device: must be 'cpu' or 'cuda' (got {device!r})")
        self.session = session
        self.input_name = input_name
        self.output_name = output_name
        self.device = device
        self.buckets = sorted(buckets) if buckets else None
        self.label_name = label_name
        self.max_slots = None if cuda_graph else max_slots
        self.idle = dict(idle or {})
        self.cuda_graph = cuda_graph
        self.post = post
        low, high = value_range
        self._post_consts = (np.array(low, np.float32), np.array(255.0 / (high - low), np.float32))
        self._slots: dict[int, _Slot] = {}
        # ids are per session: runners sharing one session (a StyleGAN's halves) share the
        # counter, so no id is ever handed out twice; 0 is ONNX Runtime's own
        self._graph_ids = graph_ids if graph_ids is not None else itertools.count(1)

    @property
    def graph_ids(self) -> dict[int, int]:
        """bucket → the gpu_graph_id its runs carry (empty without ``cuda_graph``)."""
        return {size: int(slot.options.get_run_config_entry(GRAPH_ID_KEY))
                for size, slot in self._slots.items() if slot.options is not None}

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The batch sizes that hold bound buffers now, in the order they were bound."""
        return tuple(self._slots)

    def bucket(self, batch: int) -> int:
        """The batch size a call of ``batch`` rows runs at."""
        if self.buckets is None:
            return graph_buckets(batch) if self.cuda_graph else batch
        index = bisect.bisect_left(self.buckets, batch)
        if index == len(self.buckets):
            raise InputError(f"batch: {batch} is larger than the largest bucket "
                             f"({self.buckets[-1]}): split it or add a bucket")
        return self.buckets[index]

    def __call__(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        slot = self._run(z, labels)
        out = slot.out_host if slot.out_host is not None else slot.out.numpy()
        return out[:len(z)]

    def pixels(self, x: np.ndarray, labels: np.ndarray | None = None) -> tuple[np.ndarray, bool]:
        """(uint8 (B, H, W, C) pixels, whether the bucket's output held NaN/Inf), both computed
        by the ``post`` session where the model ran; the pixels are a view of a reused buffer.
        The float output stays where it is until :meth:`output` asks for it."""
        slot = self._run(x, labels)
        post = slot.post or self._bind_post(slot)
        self.post.run_with_iobinding(post.binding)  # type: ignore[union-attr]
        return post.pixels[:len(x)], bool(post.nonfinite > 0)

    def output(self, batch: int) -> np.ndarray:
        """The float output of the last run at ``batch`` rows (copied back from a device)."""
        slot = self._slots[self.bucket(batch)]
        out = slot.out_host if slot.out_host is not None else slot.out.numpy()
        return out[:batch]

    def _run(self, x: np.ndarray, labels: np.ndarray | None) -> _Slot:
        batch = x.shape[0]
        size = self.bucket(batch)
        slot = self._slots.get(size)
        if slot is None:
            if self.max_slots is not None and len(self._slots) >= self.max_slots:
                self._slots.clear()
            slot = self._bind(size, x)
        if slot.labels is not None:
            padded_labels = np.zeros(size, np.int64)
            padded_labels[:batch] = 0 if labels is None else labels
            slot.labels.update_inplace(padded_labels)
        if slot.x_host is not None:
            slot.x_host[:batch] = x
            slot.x_host[batch:] = 0
        else:
            padded = x if size == batch else np.concatenate(
                [x, np.zeros((size - batch, *x.shape[1:]), np.float32)])
            slot.x.update_inplace(np.ascontiguousarray(padded, dtype=np.float32))
        self.session.run_with_iobinding(slot.binding, slot.options)
        return slot

    def _value(self, array: np.ndarray) -> ort.OrtValue:
        """An OrtValue holding ``array`` on this runner's device."""
        if self.device == "cpu":
            return ort.OrtValue.ortvalue_from_numpy(array)
        return ort.OrtValue.ortvalue_from_numpy(array, "cuda", 0)

    def _bind(self, size: int, x: np.ndarray) -> _Slot:
        probe = np.zeros((size, *x.shape[1:]), np.float32)
        out_shape, out_dtype = self._output_spec(size, probe)
        binding = self.session.io_binding()
        labels = None
        if self.label_name is not None:
            labels = ort.OrtValue.ortvalue_from_shape_and_type((size,), np.int64, self.device, 0)
            binding.bind_ortvalue_input(self.label_name, labels)
        for name, value in self.idle.items():
            binding.bind_ortvalue_input(name, self._value(value))
        if self.device == "cpu":
            x_host, out_host = probe, np.empty(out_shape, out_dtype)
            x_value = ort.OrtValue.ortvalue_from_numpy(x_host)
            out_value = ort.OrtValue.ortvalue_from_numpy(out_host)
        else:
            x_host = out_host = None
            x_value = ort.OrtValue.ortvalue_from_shape_and_type(probe.shape, np.float32, "cuda", 0)
            out_value = ort.OrtValue.ortvalue_from_shape_and_type(out_shape, out_dtype, "cuda", 0)
        binding.bind_ortvalue_input(self.input_name, x_value)
        binding.bind_ortvalue_output(self.output_name, out_value)
        options = None
        if self.cuda_graph:
            options = ort.RunOptions()
            options.add_run_config_entry(GRAPH_ID_KEY, str(next(self._graph_ids)))
        slot = _Slot(binding, x_value, x_host, out_value, out_host, labels, options)
        self._slots[size] = slot
        return slot

    def _bind_post(self, slot: _Slot) -> _Post:
        """Chain the post-processing session to ``slot``'s output buffer, on the same device."""
        assert self.post is not None, "pixels() needs a post session"
        b, c, h, w = slot.out.shape()
        binding = self.post.io_binding()
        binding.bind_ortvalue_input("images", slot.out)
        low, scale = self._post_consts
        binding.bind_ortvalue_input("low", self._value(low))
        binding.bind_ortvalue_input("scale", self._value(scale))
        pixels, nonfinite = np.empty((b, h, w, c), np.uint8), np.zeros((), np.float32)
        # host memory reused per slot: ONNX Runtime copies the device result straight into it
        binding.bind_ortvalue_output("pixels", ort.OrtValue.ortvalue_from_numpy(pixels))
        binding.bind_ortvalue_output("nonfinite", ort.OrtValue.ortvalue_from_numpy(nonfinite))
        slot.post = _Post(binding, pixels, nonfinite)
        return slot.post

    def _output_spec(self, size: int, probe: np.ndarray) -> tuple[tuple[int, ...], np.dtype]:
        """Output shape and dtype at batch ``size``: from the graph when only the batch axis is
        symbolic (a CUDA-graph session must not run unbound), else from one plain run."""
        meta = next(o for o in self.session.get_outputs() if o.name == self.output_name)
        dtype = _ORT_TYPES.get(meta.type)
        rest = meta.shape[1:]
        if dtype is not None and all(isinstance(d, int) for d in rest):
            return (size, *rest), dtype
        feeds = {self.input_name: probe, **self.idle}
        if self.label_name is not None:
            feeds[self.label_name] = np.zeros(size, np.int64)
        (sample,) = self.session.run([self.output_name], feeds)
        return sample.shape, sample.dtype


_ORT_TYPES = {"tensor(float)": np.dtype(np.float32), "tensor(uint8)": np.dtype(np.uint8),
              "tensor(float16)": np.dtype(np.float16)}
