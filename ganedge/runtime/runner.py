"""The one runner: every exported generator runs through :class:`Runner`, for every caller.

``sample``, ``walk``, ``mix``, ``eval`` and the benchmark's ganedge candidates call
:class:`ganedge.GeneratorModel`, which runs its model through a Runner; export parity
(exports/parity.py, exports/stylegan.py) runs a Runner on the CPU provider. What differs between
them is a setting (:class:`ganedge.runtime.session.SessionSettings`), resolved once into a
:class:`Plan` for the provider the session really runs on — never a code path of its own:

- plain ``session.run`` or IO binding (:class:`ganedge.runtime.iobinding.BoundRunner`, buffers
  reused per batch size, CUDA graphs with one ``gpu_graph_id`` per batch bucket);
- pixels (uint8 NHWC) and the NaN/Inf check on the host (numpy) or on the model's device
  (ganedge/models/postprocess.onnx chained to the model's output);
- a graph's fixed batch and short last batches padded with zero rows;
- a StyleGAN's mapping and synthesis in one session (the idle half fed an empty batch) or in one
  session each, so that neither session ever sees its input shapes change at a repeated batch.

Rows never interact, so padding and chunking change no output value.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ganedge.contract import ModelContract
from ganedge.errors import ContractError, GanEdgeError, NonFiniteOutputError
from ganedge.io.imaging import to_uint8_nhwc
from ganedge.runtime import providers as prov
from ganedge.runtime.graphcheck import expected_tensors
from ganedge.runtime.iobinding import BoundRunner
from ganedge.runtime.session import ORT_DEFAULTS, SessionSettings, create_session
from ganedge.sampling.stylegan import idle_feeds

MAX_SLOTS = 4  # batch sizes that keep bound buffers per session (without CUDA graphs)
GENERATOR, MAPPING, SYNTHESIS = "generator", "mapping", "synthesis"
Session = Any  # an ort.InferenceSession, or ganedge.runtime.ovsession.OpenVinoSession


def postprocess_model_path() -> Path:
    """ganedge/models/postprocess.onnx: float (B, C, H, W) → uint8 (B, H, W, C) + NaN/Inf flag,
    byte for byte what :func:`ganedge.io.imaging.to_uint8_nhwc` gives (made by
    scripts/make_postprocess_model.py)."""
    return Path(str(resources.files("ganedge").joinpath("models", "postprocess.onnx")))


@dataclass(frozen=True)
class SessionSpec:
    """What every session of one model is opened with: the runner may open more than one."""

    model: Path | bytes  # a file, or a serialized model (export parity)
    providers: tuple[str, ...]  # requested, fastest first (see ganedge.runtime.providers)
    threads: int | None  # intra-op threads, already checked; None: the settings' own
    settings: SessionSettings

    def open(self, model: Path | bytes | None = None) -> Session:
        """A session for ``model`` (default: this spec's) on these providers and settings."""
        model = self.model if model is None else model
        if self.providers == (prov.OPENVINO,):
            from ganedge.runtime.ovsession import OpenVinoSession

            return OpenVinoSession(model, self.threads)  # type: ignore[arg-type]
        # ORT prints an "EP Error" banner to stdout when TensorRT cannot start; ganedge's own
        # one-line warning says what happened instead
        quiet = prov.TENSORRT in self.providers
        with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
            return create_session(model, list(self.providers), self.threads, self.settings)


@dataclass(frozen=True)
class Plan:
    """:class:`SessionSettings` resolved for the device the model's session really runs on."""

    device: str  # "cpu" or "cuda" (where bound buffers live)
    io_binding: bool
    device_pixels: bool  # pixels + NaN/Inf flag computed by ONNX Runtime next to the model
    pad_batches: bool  # short last batches padded up to the call's batch size
    split_stylegan: bool  # a StyleGAN's halves in one session each
    cuda_graph: bool


def make_plan(settings: SessionSettings, providers: list[str],
              io_binding: bool | None = None) -> Plan:
    """The plan for a session running on ``providers`` (``io_binding`` overrides the setting)."""
    on_cuda = providers[0] in (prov.CUDA, prov.TENSORRT)
    ort_session = providers[0] != prov.OPENVINO

    def pick(value: bool | None) -> bool:
        return on_cuda if value is None else value

    bound = pick(settings.io_binding if io_binding is None else io_binding) and ort_session
    cuda_graph = settings.cuda_graph and providers[0] == prov.CUDA
    return Plan(device="cuda" if on_cuda else "cpu", io_binding=bound or cuda_graph,
                device_pixels=pick(settings.device_pixels) and ort_session,
                pad_batches=pick(settings.pad_batches),
                split_stylegan=pick(settings.split_stylegan), cuda_graph=cuda_graph)


@dataclass(frozen=True)
class _Lane:
    """One job on one session: its input, optional label input, output and idle feeds."""

    session: Session
    input_name: str
    output_name: str
    label_name: str | None
    idle: dict[str, np.ndarray]
    images: bool  # the output is the model's images (checked against the contract)


class Runner:
    """Runs one exported model: the whole generator, or a StyleGAN's mapping and synthesis.

    ``session`` is the model's first session, opened with ``spec`` (the runner opens the others it
    needs the same way). Results are fresh arrays the caller owns. Thread-safe: bound buffers are
    per thread, and under CUDA graphs runs are serialised (ONNX Runtime allows no concurrent run
    of a CUDA-graph session).
    """

    def __init__(self, spec: SessionSpec, session: Session, contract: ModelContract, *,
                 static_batch: int | None = None, allow_nonfinite: bool = False,
                 io_binding: bool | None = None, check_images: bool = True) -> None:
        self.spec = spec
        self.session = session
        self.contract = contract
        self.static_batch = static_batch
        self.allow_nonfinite = allow_nonfinite
        self.check_images = check_images  # False: images come back as the graph made them
        self.plan = make_plan(spec.settings, list(session.get_providers()), io_binding)
        # derived once, read on every run
        self._image_dims = tuple(expected_tensors(contract)["output"][contract.output_name][1][1:])
        self._run_options = quiet_run()
        self._lanes: dict[str, _Lane] = {}
        self._post: Session | None = None
        self._opening = threading.Lock()
        self._local = threading.local()
        self._shared: dict[str, BoundRunner] = {}  # under CUDA graphs: one runner per job
        self._graph_ids: dict[int, Iterator[int]] = {}  # id(session) → its gpu_graph_id counter
        self._serial = threading.Lock()

    def generate(self, z: np.ndarray, labels: np.ndarray | None, *, pixels: bool = False,
                 pad_to: int | None = None) -> np.ndarray:
        """A z → images model's output for checked latents z (B, latent_dim) and (B,) int64
        labels (or None): raw, or uint8 (B, H, W, C) ``pixels``. ``pad_to``: the call's batch
        size, which a short batch is padded up to when the plan pads."""
        fixed = self.static_batch
        if fixed is None:
            return self._run(GENERATOR, z, labels, pixels, pad_to)
        return np.concatenate([
            self._run(GENERATOR, z[i:i + fixed], None if labels is None else labels[i:i + fixed],
                      pixels, fixed, force_pad=True)
            for i in range(0, len(z), fixed)])

    def mapping(self, z: np.ndarray, labels: np.ndarray | None, *,
                pad_to: int | None = None) -> np.ndarray:
        """A StyleGAN's untruncated ws (B, num_ws, w_dim) for checked latents and labels."""
        return self._run(MAPPING, z, labels, False, pad_to)

    def synthesis(self, ws: np.ndarray, *, pixels: bool = False,
                  pad_to: int | None = None) -> np.ndarray:
        """A StyleGAN's images for checked ws (B, num_ws, w_dim): raw float or uint8 pixels."""
        return self._run(SYNTHESIS, ws, None, pixels, pad_to)

    def sessions(self) -> dict[str, Session]:
        """The sessions opened so far, by job (a StyleGAN's halves may share one)."""
        return {name: lane.session for name, lane in self._lanes.items()}

    def _run(self, job: str, x: np.ndarray, labels: np.ndarray | None, pixels: bool,
             pad_to: int | None, force_pad: bool = False) -> np.ndarray:
        rows = len(x)
        if pad_to is not None and rows < pad_to and (force_pad or self.plan.pad_batches):
            x = np.concatenate([x, np.zeros((pad_to - rows, *x.shape[1:]), np.float32)])
            if labels is not None:
                labels = np.concatenate([labels, np.zeros(pad_to - rows, np.int64)])
        lane = self._lane(job)
        want_pixels = pixels and lane.images and self.contract.output_dtype != "uint8"
        try:
            if self.plan.io_binding:
                return self._run_bound(job, lane, x, labels, rows, want_pixels)
            return self._run_plain(lane, x, labels, rows, want_pixels)
        except GanEdgeError:
            raise
        except Exception as exc:  # ORT's own errors: the graph itself failed on valid inputs
            raise ContractError(f"model: the graph failed to run ({first_line(exc)}): "
                                "re-export it or check it with `ganedge info`") from None

    def _run_plain(self, lane: _Lane, x: np.ndarray, labels: np.ndarray | None, rows: int,
                   pixels: bool) -> np.ndarray:
        feeds = {lane.input_name: x, **lane.idle}
        if lane.label_name is not None:
            feeds[lane.label_name] = labels
        (out,) = lane.session.run([lane.output_name], feeds, self._run_options)
        out = out[:rows]
        if not lane.images:
            return out
        if pixels and self.plan.device_pixels:
            px, bad = self._post_session().run(None, {"images": out, **self._post_consts()})
            if bad > 0:
                self._check_output(out, rows)
            return px
        self._check_output(out, rows)
        return to_uint8_nhwc(out, self.contract.value_range) if pixels else out

    def _run_bound(self, job: str, lane: _Lane, x: np.ndarray, labels: np.ndarray | None,
                   rows: int, pixels: bool) -> np.ndarray:
        with self._serial if self.plan.cuda_graph else contextlib.nullcontext():
            runner = self._bound(job, lane)
            if pixels and self.plan.device_pixels:
                px, bad = runner.pixels(x, labels)
                if bad:  # the flag covers the padding rows too: the real rows decide
                    self._check_output(runner.output(len(x))[:rows], rows)
                return px[:rows].copy()
            out = runner(x, labels)[:rows]
            out = out.copy() if self.plan.device == "cpu" else out  # a reused buffer on the CPU
        if lane.images:
            self._check_output(out, rows)
            if pixels:
                return to_uint8_nhwc(out, self.contract.value_range)
        return out

    def _bound(self, job: str, lane: _Lane) -> BoundRunner:
        runners = self._shared if self.plan.cuda_graph else self._local.__dict__
        runner = runners.get(job)
        if runner is None:
            runner = runners[job] = BoundRunner(
                lane.session, lane.input_name, lane.output_name, self.plan.device,
                label_name=lane.label_name, max_slots=MAX_SLOTS, idle=lane.idle,
                cuda_graph=self.plan.cuda_graph, value_range=self.contract.value_range,
                post=self._post_session() if lane.images and self.plan.device_pixels else None,
                graph_ids=self._graph_ids.setdefault(id(lane.session), itertools.count(1)))
        return runner

    def _lane(self, job: str) -> _Lane:
        lane = self._lanes.get(job)
        if lane is None:
            with self._opening:
                lane = self._lanes.get(job) or self._open_lane(job)
                self._lanes[job] = lane
        return lane

    def _open_lane(self, job: str) -> _Lane:
        c = self.contract
        label = c.label_input_name if c.conditional else None
        if job == GENERATOR:
            return _Lane(self.session, c.input_name, c.output_name, label, {}, True)
        if job == SYNTHESIS:
            return _Lane(self.session, c.ws_input_name, c.output_name, None,
                         idle_feeds(c, SYNTHESIS), True)
        session = self.spec.open() if self.plan.split_stylegan else self.session
        return _Lane(session, c.input_name, c.ws_output_name, label, idle_feeds(c, MAPPING),
                     False)

    def _post_session(self) -> Session:
        """The post-processing session, on the model's device. Never a CUDA-graph session: its
        runs carry no gpu_graph_id, so one capture would be replayed for every batch size; and
        never TensorRT, which would build an engine per shape for a handful of cheap nodes."""
        if self._post is None:
            with self._opening:
                if self._post is None:
                    spec = replace(self.spec, settings=replace(self.spec.settings,
                                                               cuda_graph=False),
                                   providers=tuple(p for p in self.spec.providers
                                                   if p != prov.TENSORRT))
                    self._post = spec.open(postprocess_model_path())
        return self._post

    def _post_consts(self) -> dict[str, np.ndarray]:
        low, high = self.contract.value_range
        return {"low": np.array(low, np.float32),
                "scale": np.array(255.0 / (high - low), np.float32)}

    def _check_output(self, out: np.ndarray, batch: int) -> None:
        """The images' shape and dtype against the contract, and NaN/Inf unless allowed."""
        if not self.check_images:
            return
        c = self.contract
        want = (batch, *self._image_dims)
        if out.shape != want or out.dtype != np.dtype(c.output_dtype):
            raise ContractError(f"model: output is {out.dtype} {out.shape}, the contract says "
                                f"{c.output_dtype} {want}: re-export the model")
        if out.dtype.kind == "f" and not self.allow_nonfinite and not np.isfinite(out).all():
            bad = int(out.size - np.count_nonzero(np.isfinite(out)))
            raise NonFiniteOutputError(
                f"not set, and the model's output holds {bad:,} NaN/Inf value(s) of {out.size:,}: "
                "the generator is broken (re-export or retrain it); set it to write such pixels "
                "as the range's ends anyway", param="allow_nonfinite")

    def bound_runners(self) -> Iterator[tuple[str, BoundRunner]]:
        """(job, runner) of this thread's bound runners (all of them under CUDA graphs)."""
        runners = self._shared if self.plan.cuda_graph else self._local.__dict__
        yield from runners.items()


def parity_runner(model: bytes | Path, contract: ModelContract) -> Runner:
    """The runner export parity reads a fresh graph with: ONNX Runtime's CPU provider with its own
    session options (what the graph computes, not a tuning of it), output unchecked (parity
    judges shapes and NaN/Inf itself)."""
    spec = SessionSpec(model, (prov.CPU,), None, ORT_DEFAULTS)
    return Runner(spec, spec.open(), contract, check_images=False)


def quiet_run() -> ort.RunOptions:
    """Run options whose failures ORT does not also log to the host's stderr: ganedge raises
    them as one ContractError line (a per-run setting, not ORT's global logger)."""
    options = ort.RunOptions()
    options.log_severity_level = 4
    return options


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]
