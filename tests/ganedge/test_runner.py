"""The one runner: stable shapes per session, pixels on the model's device byte-identical to the
host's, CUDA-graph ids per batch bucket, and the session settings that reach ONNX Runtime."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import ganedge
from ganedge.errors import ConfigError, InputError, NonFiniteOutputError
from ganedge.io.imaging import PngWriter, save_png, to_uint8_nhwc
from ganedge.runtime import providers as prov
from ganedge.runtime.iobinding import BoundRunner
from ganedge.runtime.runner import SessionSpec, make_plan, postprocess_model_path
from ganedge.runtime.session import SessionSettings, create_session, provider_entries
from tests.e2e.stylegan_graph import NUM_WS, W_DIM, tiny_stylegan
from tests.ganedge.conftest import invoke
from tests.ganedge.hostile import Graph, build

B = 4  # the one batch size of the shape test


class RecordingSession:
    """A real ONNX Runtime session that also records the shape of every input it is fed."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.shapes: dict[str, set[tuple[int, ...]]] = defaultdict(set)

    def run(self, outputs: Any, feeds: dict[str, np.ndarray], *args: Any) -> Any:
        for name, value in feeds.items():
            self.shapes[name].add(tuple(value.shape))
        return self.session.run(outputs, feeds, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingSession]:
    """Every session the runner opens from now on, recording what it is fed."""
    opened: list[RecordingSession] = []
    real_open = SessionSpec.open

    def open_recording(self: SessionSpec, model: Any = None) -> RecordingSession:
        opened.append(RecordingSession(real_open(self, model)))
        return opened[-1]

    monkeypatch.setattr(SessionSpec, "open", open_recording)
    return opened


@pytest.fixture(scope="module")
def stylegan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_stylegan(tmp_path_factory.mktemp("sg") / "sg.onnx", num_classes=3)


def _every_call_at_one_batch(gen: ganedge.GeneratorModel) -> None:
    z = gen.latents(range(B))
    gen.generate(z, labels=1, truncation=0.7)
    gen.generate(z, labels=[0, 1, 2, 0])
    ws = gen.mapping(z, labels=2, truncation=0.5)
    gen.synthesis(ws)
    gen.sample(B, truncation=0.7, batch_size=B)
    gen.sample(B + 2, batch_size=B)  # a short last batch
    gen.mix([1, 2], [3, 4], [0, 1], truncation=0.7, batch_size=B)  # 4 sources, 4 mixes
    gen.walk(range(B), frames=3, truncation=0.7, batch_size=B)  # 12 frames: 3 batches


def test_each_stylegan_session_sees_one_shape_per_input(
        stylegan: Path, recorded: list[RecordingSession]) -> None:
    settings = SessionSettings(split_stylegan=True, pad_batches=True)  # CUDA's defaults
    gen = ganedge.load(stylegan, provider="cpu", settings=settings)
    _every_call_at_one_batch(gen)
    sessions = gen.runner.sessions()
    assert len(recorded) == 2 and sessions["synthesis"] is not sessions["mapping"]
    for session in recorded:
        assert session.shapes and all(len(s) == 1 for s in session.shapes.values()), \
            dict(session.shapes)
    assert dict(sessions["mapping"].shapes) == {
        "z": {(B, 8)}, "label": {(B,)}, "ws": {(0, NUM_WS, W_DIM)}}
    assert dict(sessions["synthesis"].shapes) == {
        "z": {(0, 8)}, "label": {(0,)}, "ws": {(B, NUM_WS, W_DIM)}}


def test_one_shared_stylegan_session_alternates_shapes(
        stylegan: Path, recorded: list[RecordingSession]) -> None:
    """What the split avoids: one session fed the idle half's empty batch sees two shapes."""
    gen = ganedge.load(stylegan, provider="cpu", settings=SessionSettings(split_stylegan=False))
    _every_call_at_one_batch(gen)
    assert len(recorded) == 1 and recorded[0].shapes["ws"] >= {(0, NUM_WS, W_DIM),
                                                                (B, NUM_WS, W_DIM)}


def test_split_and_padded_runs_give_the_same_images(stylegan: Path) -> None:
    plain = ganedge.load(stylegan, provider="cpu")
    split = ganedge.load(stylegan, provider="cpu", settings=SessionSettings(
        split_stylegan=True, pad_batches=True, io_binding=True, device_pixels=True))
    assert not plain.runner.plan.split_stylegan and split.runner.plan.io_binding
    np.testing.assert_array_equal(split.sample(7, batch_size=4, truncation=0.6),
                                  plain.sample(7, truncation=0.6))
    z = plain.latents([5, 6, 7])
    np.testing.assert_array_equal(split.generate(z, 1, 0.7), plain.generate(z, 1, 0.7))
    np.testing.assert_array_equal(split.walk([1, 2], frames=5, batch_size=4),
                                  plain.walk([1, 2], frames=5))
    np.testing.assert_array_equal(split.mix([1], [2, 3], batch_size=2), plain.mix([1], [2, 3]))


def test_bound_runs_keep_one_batch_size_per_session(stylegan: Path) -> None:
    gen = ganedge.load(stylegan, provider="cpu", settings=SessionSettings(
        split_stylegan=True, pad_batches=True, io_binding=True))
    _every_call_at_one_batch(gen)
    sizes = {job: runner.batch_sizes for job, runner in gen.runner.bound_runners()}
    assert sizes == {"mapping": (B,), "synthesis": (B,)}


def _edge_values(low: float, high: float) -> np.ndarray:
    """Every rounding boundary of every level (and 4 floats either side), the levels
    themselves, ±0, the range's ends, beyond them, ±Inf, NaN, subnormals, the float extremes."""
    scale = np.float32(255.0 / (high - low))
    values: list[np.float32] = []
    for k in range(-3, 260):
        for centre in (np.float32(low + (k + 0.5) / float(scale)),
                       np.float32(low + k / float(scale))):
            below = above = centre
            values.append(centre)
            for _ in range(4):
                below = np.nextafter(below, np.float32(-np.inf))
                above = np.nextafter(above, np.float32(np.inf))
                values += [below, above]
    f32 = np.finfo(np.float32)
    values += [np.float32(v) for v in (0.0, -0.0, low, high, -1.0, 1.0, 2.0, -2.0, np.nan,
                                       -np.nan, np.inf, -np.inf, f32.max, -f32.max,
                                       f32.smallest_subnormal, -f32.smallest_subnormal, 1e30)]
    flat = np.array(values, np.float32)
    return np.concatenate([flat, np.zeros(-len(flat) % 12, np.float32)]).reshape(-1, 3, 2, 2)


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_postprocess_graph_is_byte_identical_to_host_conversion(
        value_range: tuple[float, float]) -> None:
    images = _edge_values(*value_range)
    session = create_session(postprocess_model_path(), [prov.CPU], None)
    low, high = value_range
    with np.errstate(over="ignore"):
        expected = to_uint8_nhwc(images, value_range)
    consts = {"low": np.array(low, np.float32), "scale": np.array(255 / (high - low), np.float32)}
    pixels, flag = session.run(None, {"images": images, **consts})
    assert pixels.dtype == np.uint8 and pixels.shape == expected.shape
    np.testing.assert_array_equal(pixels, expected)
    assert flag == 1.0
    _, clean = session.run(None, {"images": np.nan_to_num(images, nan=0, posinf=0, neginf=0),
                                  **consts})
    assert clean == 0.0


def test_device_pixels_through_the_runner_match_the_host_path(models: dict[str, Path],
                                                              tmp_path: Path) -> None:
    host = ganedge.load(models["cond"], provider="cpu")
    assert not host.runner.plan.device_pixels  # numpy is faster on the CPU
    for bound in (False, True):
        device = ganedge.load(models["cond"], provider="cpu", settings=SessionSettings(
            device_pixels=True, io_binding=bound))
        np.testing.assert_array_equal(device.sample(13, batch_size=5), host.sample(13))
    nan_model = build(tmp_path / "nan.onnx", Graph(poison=float("nan")))
    for bound in (False, True):
        settings = SessionSettings(device_pixels=True, io_binding=bound)
        with pytest.raises(NonFiniteOutputError, match="allow_nonfinite: not set, and the model's "
                                                       "output holds 16 NaN/Inf value"):
            ganedge.load(nan_model, provider="cpu", settings=settings).sample(1)
        allowed = ganedge.load(nan_model, settings=settings, allow_nonfinite=True).sample(3)
        np.testing.assert_array_equal(allowed, ganedge.load(nan_model, allow_nonfinite=True)
                                      .sample(3))


def test_cuda_graph_ids_one_per_bucket_never_reused(models: dict[str, Path]) -> None:
    session = create_session(models["float"], [prov.CPU], None)
    runner = BoundRunner(session, "z", "images", cuda_graph=True, max_slots=2)
    z = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    (expected,) = session.run(["images"], {"z": z})
    for batch in (1, 3, 64, 1, 3):
        np.testing.assert_array_equal(runner(z[:batch]), expected[:batch])
    assert runner.graph_ids == {1: 1, 4: 2, 64: 3}  # next power of two, ids from 1 (0 is ORT's)
    assert runner.batch_sizes == (1, 4, 64)  # max_slots never drops a captured bucket
    for batch in (5, 9, 17, 33):  # 33 replays the bucket of 64
        np.testing.assert_array_equal(runner(z[:batch]), expected[:batch])
    assert runner.graph_ids == {1: 1, 4: 2, 64: 3, 8: 4, 16: 5, 32: 6}
    plain = BoundRunner(session, "z", "images", max_slots=2)
    for batch in (1, 3, 64):
        plain(z[:batch])
    assert plain.graph_ids == {} and plain.batch_sizes == (64,)


def test_stylegan_halves_on_one_session_never_share_a_graph_id(stylegan: Path) -> None:
    gen = ganedge.load(stylegan, provider="cpu", settings=SessionSettings(io_binding=True))
    # the CPU has no CUDA graphs: the plan below is what a CUDA session with one shared
    # session for both halves gets
    gen.runner.plan = replace(gen.runner.plan, cuda_graph=True)
    plain = ganedge.load(stylegan, provider="cpu")
    z = gen.latents(range(3))
    np.testing.assert_array_equal(gen.generate(z, 1, 0.7), plain.generate(z, 1, 0.7))
    np.testing.assert_array_equal(gen.generate(z[:1], 1), plain.generate(z[:1], 1))
    ids = {job: runner.graph_ids for job, runner in gen.runner.bound_runners()}
    assert ids == {"mapping": {4: 1, 1: 3}, "synthesis": {4: 2, 1: 4}}


def test_bound_buffers_are_reused_per_batch_size(models: dict[str, Path]) -> None:
    session = create_session(models["float"], [prov.CPU], None)
    runner = BoundRunner(session, "z", "images")
    z = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    first = runner(z)
    again = runner(z[::-1].copy())
    assert np.shares_memory(first, again)  # the same host buffer, rewritten
    np.testing.assert_array_equal(again, session.run(["images"], {"z": z[::-1].copy()})[0])


def test_plans_resolve_per_device() -> None:
    cuda = make_plan(SessionSettings(), [prov.CUDA, prov.CPU])
    assert (cuda.device, cuda.io_binding, cuda.device_pixels, cuda.pad_batches,
            cuda.split_stylegan, cuda.cuda_graph) == ("cuda", True, True, True, True, False)
    cpu = make_plan(SessionSettings(cuda_graph=True), [prov.CPU])
    assert (cpu.device, cpu.io_binding, cpu.device_pixels, cpu.pad_batches, cpu.split_stylegan,
            cpu.cuda_graph) == ("cpu", False, False, False, False, False)
    graphs = make_plan(SessionSettings(cuda_graph=True, io_binding=False), [prov.CUDA, prov.CPU])
    assert graphs.cuda_graph and graphs.io_binding  # CUDA graphs need bound buffers
    openvino = make_plan(SessionSettings(io_binding=True, device_pixels=True), [prov.OPENVINO])
    assert not openvino.io_binding and not openvino.device_pixels


def test_cuda_provider_options_follow_the_settings() -> None:
    def cuda_options(settings: SessionSettings) -> dict[str, str]:
        (entry, cpu) = provider_entries([prov.CUDA, prov.CPU], settings)
        assert cpu == prov.CPU and entry[0] == prov.CUDA
        return entry[1]

    assert cuda_options(SessionSettings()) == {"cudnn_conv_algo_search": "HEURISTIC",
                                               "use_tf32": "1"}
    assert cuda_options(SessionSettings(cuda_graph=True, use_tf32=False)) == {
        "cudnn_conv_algo_search": "EXHAUSTIVE", "use_tf32": "0", "enable_cuda_graph": "1"}
    assert cuda_options(SessionSettings(cudnn_search="default"))["cudnn_conv_algo_search"] \
        == "DEFAULT"
    assert provider_entries([prov.CUDA], replace(SessionSettings(), ort_defaults=True)) \
        == [prov.CUDA]
    with pytest.raises(ConfigError, match=r"^cudnn_search: must be one of \['auto', "):
        SessionSettings(cudnn_search="fast")
    with pytest.raises(ConfigError, match="^use_tf32: must be True or False"):
        SessionSettings(use_tf32=None)  # type: ignore[arg-type]


@pytest.mark.skipif(prov.CUDA not in ort.get_available_providers(),
                    reason="this onnxruntime build has no CUDA provider")
def test_options_reach_a_cuda_session_where_it_starts(models: dict[str, Path]) -> None:
    settings = SessionSettings(cudnn_search="exhaustive", use_tf32=False)
    session = create_session(models["float"], [prov.CUDA, prov.CPU], None, settings)
    options = session.get_provider_options()
    if prov.CUDA not in options:
        pytest.skip("the CUDA provider did not start here (no GPU)")
    assert options[prov.CUDA]["cudnn_conv_algo_search"] == "EXHAUSTIVE"
    assert options[prov.CUDA]["use_tf32"] == "0"


def test_cli_flags_become_session_settings(models: dict[str, Path], tmp_path: Path,
                                           recorded: list[RecordingSession],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[SessionSettings] = []
    recording_open = SessionSpec.open

    def open_noting(self: SessionSpec, model: Any = None) -> Any:
        seen.append(self.settings)
        return recording_open(self, model)

    monkeypatch.setattr(SessionSpec, "open", open_noting)
    for command in (["sample", "-n", "2", "-o", str(tmp_path / "s.png")],
                    ["walk", "--frames", "2", "-o", str(tmp_path / "w.gif")]):
        result = invoke(*command, str(models["float"]), "--cuda-graph", "--cudnn-search",
                        "exhaustive", "--no-tf32", "--provider", "cpu")
        assert result.exit_code == 0, result.stderr
    assert seen and all(s == SessionSettings(cuda_graph=True, cudnn_search="exhaustive",
                                             use_tf32=False) for s in seen)
    bad = invoke("sample", "--cudnn-search", "fastest", "-o", str(tmp_path / "x.png"))
    assert bad.exit_code == 2 and not (tmp_path / "x.png").exists()


def test_the_postprocess_session_is_never_captured(models: dict[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[SessionSettings, Any]] = []
    real_open = SessionSpec.open

    def open_noting(self: SessionSpec, model: Any = None) -> Any:
        opened.append((self.settings, model))
        return real_open(self, model)

    monkeypatch.setattr(SessionSpec, "open", open_noting)
    settings = SessionSettings(cuda_graph=True, device_pixels=True)
    ganedge.load(models["float"], provider="cpu", settings=settings).sample(3)
    assert opened == [(settings, None),
                      (replace(settings, cuda_graph=False), postprocess_model_path())]


def test_load_takes_cuda_graph_and_settings(models: dict[str, Path]) -> None:
    gen = ganedge.load(models["float"], provider="cpu", cuda_graph=True,
                       settings=SessionSettings(use_tf32=False))
    assert gen.runner.spec.settings == SessionSettings(use_tf32=False, cuda_graph=True)
    assert not gen.runner.plan.cuda_graph  # the CPU provider has no CUDA graphs


def test_png_writer_writes_what_save_png_writes(tmp_path: Path) -> None:
    images = np.random.default_rng(2).integers(0, 256, (20, 9, 7, 3), dtype=np.uint8)
    with PngWriter(workers=3, max_pending=4) as writer:
        for i, image in enumerate(images):
            writer.submit(image, tmp_path / f"a{i}.png", {"k": str(i)})
    for i, image in enumerate(images):
        save_png(image, tmp_path / f"b{i}.png", {"k": str(i)})
        assert (tmp_path / f"a{i}.png").read_bytes() == (tmp_path / f"b{i}.png").read_bytes()
    with pytest.raises(InputError, match="does not exist"), PngWriter() as writer:
        writer.submit(images[0], tmp_path / "missing" / "x.png")


def test_walk_mp4_without_the_extra_refuses_before_loading(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if the extra were missing
    # the model does not even exist: the output is refused first, before any frame is rendered
    result = invoke("walk", str(tmp_path / "absent.onnx"), "-o", str(tmp_path / "w.mp4"))
    assert result.exit_code == 3 and result.stderr.startswith(
        "error: --output: writing .mp4 needs the imageio-ffmpeg package")
    assert list(tmp_path.iterdir()) == []
