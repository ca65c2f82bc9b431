"""The one IO-binding runner: inputs and outputs live in buffers allocated once per batch size.

The sampler (``GeneratorModel.generate``) and the benchmark both run sessions through
:class:`BoundRunner`, so what ``ganedge bench`` times is the code ``ganedge sample`` runs.

``session.run`` allocates a fresh output array on every call; for small generators that copy and
allocation is a visible part of the latency. A bound runner keeps one input and one output buffer
per batch bucket (on the device for CUDA, where CUDA graphs also need fixed addresses) and reuses
them. Batches are padded up to the next bucket so that only a few shapes ever reach the session.

Example:
    >>> runner = BoundRunner(session, "z", "images", buckets=(1, 8, 64))   # doctest: +SKIP
    >>> runner(z).shape                                                     # doctest: +SKIP
    (5, 3, 64, 64)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from ganedge.errors import InputError


@dataclass
class _Slot:
    """The bound buffers of one batch bucket."""

    binding: ort.IOBinding
    z: ort.OrtValue  # (bucket, latent_dim) float32 input on the device
    z_host: np.ndarray | None  # the CPU input's own memory, written in place (None on CUDA)
    out: ort.OrtValue  # the output on the device
    out_host: np.ndarray | None  # the CPU output's own memory (None on CUDA: copied back)
    labels: ort.OrtValue | None  # (bucket,) int64 class ids of a conditional model, else None


class BoundRunner:
    """Callable ``z (B, latent_dim) float32 → output`` over one session with reused buffers.

    The returned array is a view of a reused buffer on CPU: copy it before the next call if you
    keep it. ``device`` is "cpu" or "cuda"; ``buckets`` (ascending batch sizes) pads each call up
    to the smallest bucket that holds it, or None to bind every batch size as it comes.
    ``max_slots`` caps how many batch sizes keep buffers (a full batch and a remainder are
    typical; stray sizes beyond the cap drop the others). Not thread-safe: one runner per thread.
    """

    def __init__(self, session: ort.InferenceSession, input_name: str, output_name: str,
                 device: str = "cpu", buckets: Sequence[int] | None = None,
                 label_name: str | None = None, max_slots: int | None = None) -> None:
        if device not in ("cpu", "cuda"):
            raise InputError(f"device: must be 'cpu' or 'cuda' (got {device!r})")
        self.session = session
        self.input_name = input_name
        self.output_name = output_name
        self.device = device
        self.buckets = sorted(buckets) if buckets else None
        self.label_name = label_name
        self.max_slots = max_slots
        self._slots: dict[int, _Slot] = {}

    def bucket(self, batch: int) -> int:
        """The batch size a call of ``batch`` rows runs at."""
        if self.buckets is None:
            return batch
        index = bisect.bisect_left(self.buckets, batch)
        if index == len(self.buckets):
            raise InputError(f"batch: {batch} is larger than the largest bucket "
                             f"({self.buckets[-1]}): split it or add a bucket")
        return self.buckets[index]

    def __call__(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        batch = z.shape[0]
        size = self.bucket(batch)
        slot = self._slots.get(size)
        if slot is None:
            if self.max_slots is not None and len(self._slots) >= self.max_slots:
                self._slots.clear()
            slot = self._bind(size, z)
        if slot.labels is not None:
            padded_labels = np.zeros(size, np.int64)
            padded_labels[:batch] = 0 if labels is None else labels
            slot.labels.update_inplace(padded_labels)
        if slot.z_host is not None:
            slot.z_host[:batch] = z
        else:
            padded = z if size == batch else np.concatenate(
                [z, np.zeros((size - batch, z.shape[1]), np.float32)])
            slot.z.update_inplace(np.ascontiguousarray(padded, dtype=np.float32))
        self.session.run_with_iobinding(slot.binding)
        out = slot.out_host if slot.out_host is not None else slot.out.numpy()
        return out[:batch]

    def _bind(self, size: int, z: np.ndarray) -> _Slot:
        probe = np.zeros((size, z.shape[1]), np.float32)
        out_shape, out_dtype = self._output_spec(size, probe)
        binding = self.session.io_binding()
        labels = None
        if self.label_name is not None:
            labels = ort.OrtValue.ortvalue_from_shape_and_type((size,), np.int64, self.device, 0)
            binding.bind_ortvalue_input(self.label_name, labels)
        if self.device == "cpu":
            z_host, out_host = probe, np.empty(out_shape, out_dtype)
            z_value = ort.OrtValue.ortvalue_from_numpy(z_host)
            out_value = ort.OrtValue.ortvalue_from_numpy(out_host)
        else:
            z_host = out_host = None
            z_value = ort.OrtValue.ortvalue_from_shape_and_type(probe.shape, np.float32, "cuda", 0)
            out_value = ort.OrtValue.ortvalue_from_shape_and_type(out_shape, out_dtype, "cuda", 0)
        binding.bind_ortvalue_input(self.input_name, z_value)
        binding.bind_ortvalue_output(self.output_name, out_value)
        slot = _Slot(binding, z_value, z_host, out_value, out_host, labels)
        self._slots[size] = slot
        return slot

    def _output_spec(self, size: int, probe: np.ndarray) -> tuple[tuple[int, ...], np.dtype]:
        """Output shape and dtype at batch ``size``: from the graph when only the batch axis is
        symbolic (a CUDA-graph session must not run unbound), else from one plain run."""
        meta = next(o for o in self.session.get_outputs() if o.name == self.output_name)
        dtype = _ORT_TYPES.get(meta.type)
        rest = meta.shape[1:]
        if dtype is not None and all(isinstance(d, int) for d in rest):
            return (size, *rest), dtype
        feeds = {self.input_name: probe}
        if self.label_name is not None:
            feeds[self.label_name] = np.zeros(size, np.int64)
        (sample,) = self.session.run([self.output_name], feeds)
        return sample.shape, sample.dtype


_ORT_TYPES = {"tensor(float)": np.dtype(np.float32), "tensor(uint8)": np.dtype(np.uint8),
              "tensor(float16)": np.dtype(np.float16)}
