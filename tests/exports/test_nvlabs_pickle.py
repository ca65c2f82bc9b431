"""NVlabs StyleGAN2-ADA pickles are read as data: records, containers and tensors only; any other
name in the file is refused with one line before it is imported, and the source a pickle carries
is never executed."""

from __future__ import annotations

import os
import pickle
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from exports.nvlabs_pickle import read_generator, read_pickle
from ganedge.errors import CheckpointError
from tests.exports import nvlabs_fixture as fixture


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(pickle, marker): the unconditional fixture in NVlabs' layout, and the file its embedded
    source would create if it ever ran."""
    folder = tmp_path_factory.mktemp("snapshot")
    marker = folder / "marker"
    return fixture.write_snapshot("sg2ada_uncond", folder / "network-snapshot.pkl", marker), marker


def test_the_stub_source_would_leave_the_marker(tmp_path: Path) -> None:
    # the marker is a real tripwire: running the embedded source does create it
    marker = tmp_path / "marker"
    exec(fixture.stub_source(marker), {})  # noqa: S102 - our own stub, to prove the tripwire works
    assert marker.read_text() == "executed"


@pytest.mark.parametrize("weights, network", [("ema", "G_ema"), ("raw", "G")])
def test_generator_tensors_and_kwargs_are_read_exactly(snapshot: tuple[Path, Path], weights: str,
                                                       network: str) -> None:
    path, marker = snapshot
    tree, tensors, _ = fixture.load("sg2ada_uncond")
    g = read_generator(path, weights=weights)
    expected = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith(network + "/")}
    assert g.network == network and sorted(g.tensors) == sorted(expected)
    for name, value in expected.items():
        assert g.tensors[name].dtype == value.dtype
        np.testing.assert_array_equal(g.tensors[name], value)
    assert g.config == {"z_dim": 32, "c_dim": 0, "w_dim": 32, "img_resolution": 32,
                        "img_channels": 3, "mapping_layers": 2, "channel_base": 128,
                        "channel_max": 16, "conv_clamp": 256}
    assert g.nvlabs_kwargs["synthesis_kwargs"]["num_fp16_res"] == 0
    assert not marker.exists()


def test_everything_else_in_the_snapshot_is_plain_data(snapshot: tuple[Path, Path]) -> None:
    top = read_pickle(snapshot[0])
    assert sorted(top) == ["D", "G", "G_ema", "augment_pipe", "training_set_kwargs"]
    assert top["D"].class_name == "Discriminator" and top["augment_pipe"] is None
    fc = top["G_ema"].state["_modules"]["mapping"].state["_modules"]["fc0"].state
    assert fc["weight_gain"] == pytest.approx(0.01 / np.sqrt(32))  # a numpy float64 in the file
    assert type(fc["weight_gain"]) is float


def _refused(path: Path, marker: Path, *words: str) -> str:
    with pytest.raises(CheckpointError) as info:
        read_generator(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("checkpoint: ")
    for word in words:
        assert word in message
    assert not marker.exists()
    return message


def _hostile(marker: Path) -> dict[str, bytes]:
    """Hand-written pickles that would create ``marker`` if their globals were resolved."""
    cmd = f"touch {marker}".encode()
    code = f"open({str(marker)!r}, 'w').write('x')".encode()
    return {
        "os.system": b"cos\nsystem\n(V" + cmd + b"\ntR.",
        "posix.system": b"\x80\x03cposix\nsystem\nq\x00X" + len(cmd).to_bytes(4, "little") + cmd
                        + b"\x85R.",
        "builtins.eval": b"cbuiltins\neval\n(V" + code + b"\ntR.",
        "training.networks.Generator": b"\x80\x03ctraining.networks\nGenerator\n)\x81.",
        "subprocess.Popen": b"csubprocess\nPopen\n((Vtouch\nV" + str(marker).encode() + b"\nltR.",
    }


@pytest.mark.parametrize("name", list(_hostile(Path("m"))))
def test_hostile_globals_are_refused_in_one_line(tmp_path: Path, name: str) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_hostile(marker)[name])
    _refused(path, marker, name, "refusing")


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.system, (f"touch {self.marker}",)


def test_hostile_global_deep_inside_a_real_snapshot_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    kwargs = {"class_name": "x", "path": _Evil(marker)}
    path = fixture.write_snapshot("sg2ada_uncond", tmp_path / "s.pkl", marker,
                                  training_set_kwargs=kwargs)
    _refused(path, marker, "system", "refusing")


def test_a_record_with_the_real_persistence_source_path_is_never_executed(tmp_path: Path) -> None:
    # the same record NVlabs writes, whose meta would have their persistence exec module_src
    marker = tmp_path / "marker"
    rec = fixture.record("Generator", {"_init_kwargs": {}}, fixture.stub_source(marker))
    path = tmp_path / "s.pkl"
    path.write_bytes(fixture.dumps({"G_ema": rec}))
    _refused(path, marker, "z_dim")


def test_stylegan3_is_refused_saying_what_is_supported(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    src = fixture.stub_source(marker)
    synthesis = fixture.record("SynthesisNetwork", {"_modules": {
        "input": fixture.record("SynthesisInput", {}, src)}}, src)
    rec = fixture.record("Generator", {"_modules": {"synthesis": synthesis}}, src)
    path = tmp_path / "sg3.pkl"
    path.write_bytes(fixture.dumps({"G": rec, "G_ema": rec}))
    _refused(path, marker, "StyleGAN3", "StyleGAN2-ADA generators")


@pytest.mark.parametrize("option, value, words", [
    ("architecture", "resnet", ("architecture='resnet'", "'skip' only")),
    ("frobnicate", 1, ("frobnicate=1", "does not know")),
])
def test_unsupported_generator_options_are_refused(tmp_path: Path, option: str, value: object,
                                                    words: tuple[str, ...]) -> None:
    marker = tmp_path / "marker"
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
                  synthesis_kwargs={option: value})
    rec = fixture.record("Generator", {"_init_args": (), "_init_kwargs": kwargs},
                         fixture.stub_source(marker))
    path = tmp_path / "s.pkl"
    path.write_bytes(fixture.dumps({"G_ema": rec}))
    _refused(path, marker, *words)


class _Tensor:
    """Pickles as torch pickles a tensor, with a size and stride of our choosing."""

    def __init__(self, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
        self.args = offset, size, stride

    def __reduce__(self) -> tuple:
        import torch

        with warnings.catch_warnings():  # TypedStorage: what torch's own tensor pickling uses
            warnings.simplefilter("ignore", UserWarning)
            storage = torch.zeros(4).storage()
        return torch._utils._rebuild_tensor_v2, (storage, *self.args, False, OrderedDict())


@pytest.mark.parametrize("tensor, words", [
    (_Tensor(0, (1 << 20, 1 << 20), (0, 0)), "larger than the file can hold"),  # 2^40 of 4 floats
    (_Tensor(0, (1 << 12, 1 << 12), (0, 0)), "larger than the file can hold"),  # 16M > budget
    (_Tensor(3, (2,), (1,)), "past the end"),
    (_Tensor(0, (2,), (-1,)), "malformed"),
])
def test_tensor_tricks_are_refused_before_allocating(tmp_path: Path, tensor: _Tensor,
                                                     words: str) -> None:
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps({"G_ema": tensor}, protocol=3))
    _refused(path, tmp_path / "marker", words)


def test_missing_and_foreign_files_are_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    _refused(tmp_path / "absent.pkl", marker, "cannot read")
    (tmp_path / "text.pkl").write_text("hello")
    _refused(tmp_path / "text.pkl", marker, "not a readable network pickle")
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2]))
    _refused(tmp_path / "list.pkl", marker, "holds no G or G_ema")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_snapshots_load_or_fail_in_one_line(snapshot: tuple[Path, Path], tmp_path: Path,
                                                   data: st.DataObject) -> None:
    path, marker = snapshot
    raw = bytearray(path.read_bytes())
    cut = data.draw(st.integers(1, len(raw)))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, cut - 1))] = data.draw(st.integers(0, 255))
    damaged = tmp_path / "damaged.pkl"
    damaged.write_bytes(bytes(raw[:cut]))
    try:
        read_generator(damaged)
    except CheckpointError as exc:
        assert "\n" not in str(exc)
    assert not marker.exists()


def test_stylegan3_repos_stylegan2_config_is_read(tmp_path: Path) -> None:
    # stylegan3's --cfg=stylegan2 Generator takes the synthesis options at the top level
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
                  mapping_kwargs={"num_layers": 2}, channel_base=64, channel_max=8,
                  num_fp16_res=4, conv_clamp=256, fused_modconv_default="inference_only")
    rec = fixture.record("Generator", {"_init_args": (), "_init_kwargs": kwargs},
                         fixture.stub_source(tmp_path / "marker"))
    path = tmp_path / "s.pkl"
    path.write_bytes(fixture.dumps({"G_ema": rec}))
    assert read_generator(path).config == {
        "z_dim": 8, "c_dim": 0, "w_dim": 8, "img_resolution": 8, "img_channels": 3,
        "mapping_layers": 2, "channel_base": 64, "channel_max": 8, "conv_clamp": 256}
    assert not (tmp_path / "marker").exists()


def _generator_pickle(tmp_path: Path, kwargs: dict, **state: object) -> Path:
    rec = fixture.record("Generator", {"_init_args": (), "_init_kwargs": kwargs, **state},
                         fixture.stub_source(tmp_path / "marker"))
    path = tmp_path / "s.pkl"
    path.write_bytes(fixture.dumps({"G_ema": rec}))
    return path


SIZES = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3)


@pytest.mark.parametrize("kwargs, words", [
    ({**SIZES, "synthesis_kwargs": {"channel_base": "64"}}, "channel_base is '64'"),
    ({**SIZES, "synthesis_kwargs": {"conv_clamp": float("nan")}}, "not a finite number"),
    ({**SIZES, "mapping_kwargs": {"num_layers": 2.5}}, "not a whole number"),
    ({**SIZES, "img_channels": -3}, "img_channels is -3"),
    ({**SIZES, "synthesis_kwargs": {"resample_filter": [1, 2, 1]}}, "resample_filter=[1, 2, 1]"),
])
def test_malformed_kwargs_are_one_line(tmp_path: Path, kwargs: dict, words: str) -> None:
    _refused(_generator_pickle(tmp_path, kwargs), tmp_path / "marker", words)


def test_records_and_kwargs_that_contain_themselves_are_one_line(tmp_path: Path) -> None:
    kwargs: dict = dict(SIZES)
    kwargs["mapping_kwargs"] = kwargs
    _refused(_generator_pickle(tmp_path, kwargs), tmp_path / "marker", "nest too deep")
    # a pickle can fill a dict after the record holding it was built: _modules then holds the
    # record itself (written by hand; no pickler makes this)
    def text(value: str) -> bytes:
        return b"X" + len(value).to_bytes(4, "little") + value.encode()

    raw = (b"\x80\x03}" + text("G_ema") + b"ctorch_utils.persistence\n_reconstruct_persistent_obj\n"
           + b"}(" + text("type") + text("class") + text("class_name") + text("Generator")
           + text("state") + b"}(" + text("_modules") + b"}q\x01uu\x85Rq\x02s"
           + b"h\x01" + text("synthesis") + b"h\x02s0.")
    path = tmp_path / "loop.pkl"
    path.write_bytes(raw)
    _refused(path, tmp_path / "marker", "nest deeper")
