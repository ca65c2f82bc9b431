"""Triton model repositories: every written config.pbtxt parses under Triton's own schema
(tritonclient's model_config_pb2) and matches the graph of the model.onnx beside it; a
StyleGAN ensemble's steps chain through real tensor names and, run piece by piece with ONNX
Runtime, give the runtime's images; refusals are one line and write nothing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from google.protobuf import text_format
from hypothesis import given, settings, strategies as st

import ganedge
from ganedge.contract import ModelContract
from ganedge.errors import InputError
from ganedge.io.imaging import to_uint8_nhwc
from ganedge.triton import TritonSettings, write_repository
from ganedge.triton.config import check_name
from ganedge.triton.pbtxt import quote
from tests.e2e.stylegan_graph import NUM_WS, W_DIM, tiny_stylegan
from tests.ganedge.conftest import invoke

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
service_pb2 = pytest.importorskip("tritonclient.grpc.service_pb2")
utils = pytest.importorskip("tritonclient.utils")
np_to_triton_dtype, triton_to_np_dtype = utils.np_to_triton_dtype, utils.triton_to_np_dtype
DOC = Path(__file__).resolve().parents[2] / "docs" / "triton.md"
Config = model_config_pb2.ModelConfig
DataType = model_config_pb2.DataType
ORT_TYPES = {"TYPE_FP32": "tensor(float)", "TYPE_INT64": "tensor(int64)",
             "TYPE_UINT8": "tensor(uint8)"}


def parse(folder: Path) -> Config:
    """The folder's config.pbtxt under Triton's schema: an unknown field or a bad enum fails."""
    return text_format.Parse((folder / "config.pbtxt").read_text(encoding="ascii"), Config())


def declared(tensors: object, *, plain: bool = False) -> dict[str, tuple[str, list[int]]]:
    """{name: (ORT type, dims without the batch)} of config tensors: the shape the model sees
    (after a reshape), or with ``plain`` the dims a client sends."""
    out = {}
    for t in tensors:  # type: ignore[attr-defined]
        dims = list(t.reshape.shape) if t.HasField("reshape") and not plain else list(t.dims)
        out[t.name] = (ORT_TYPES[DataType.Name(t.data_type)], dims)
    return out


def graph_of(args: list[object]) -> dict[str, tuple[str, list[int]]]:
    return {a.name: (a.type, [d if isinstance(d, int) else -1 for d in a.shape])  # type: ignore
            for a in args}


def check_against_graph(folder: Path) -> Config:
    """Parse the config and compare names, dtypes and dims with ONNX Runtime's view of the
    model.onnx beside it; return the config."""
    config = parse(folder)
    assert config.name == folder.name and config.platform == "onnxruntime_onnx"
    session = ort.InferenceSession(str(folder / "1" / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    batch = [-1] if config.max_batch_size > 0 else []
    for tensors, args in ((config.input, session.get_inputs()),
                          (config.output, session.get_outputs())):
        want = {name: (type_, batch + dims) for name, (type_, dims) in declared(tensors).items()}
        assert want == graph_of(args), folder.name
    return config


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return tmp_path / "model_repository"


def test_the_parser_rejects_what_triton_would() -> None:
    with pytest.raises(text_format.ParseError):
        text_format.Parse('name: "m" max_batch_sizes: 4', Config())
    with pytest.raises(text_format.ParseError):
        text_format.Parse('instance_group [ { kind: KIND_TPU } ]', Config())


@pytest.mark.parametrize("kind", ["float", "uint8", "cond"])
def test_direct_model_config_matches_its_graph(models: dict[str, Path], repo: Path,
                                               kind: str) -> None:
    written = write_repository(models[kind], repo, name="gen")
    assert written.models == ("gen",) and sorted(p.name for p in repo.iterdir()) == ["gen"]
    config = check_against_graph(repo / "gen")
    assert (repo / "gen" / "1" / "model.onnx").read_bytes() == models[kind].read_bytes()
    assert config.max_batch_size == 64
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000
    assert list(config.dynamic_batching.preferred_batch_size) == []
    assert [(g.kind, g.count) for g in config.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_GPU, 1)]
    params = {k: v.string_value for k, v in config.parameters.items()}
    assert params.pop("cudnn_conv_algo_search") == "1", "HEURISTIC: batch sizes vary"
    assert ModelContract.from_metadata(params) == ganedge.load(models[kind]).contract
    (warmup,) = config.model_warmup
    assert warmup.batch_size == 64
    assert {k: (list(v.dims), v.zero_data) for k, v in warmup.inputs.items()} == {
        t.name: (list(t.dims), True) for t in config.input}
    types = {t.name: DataType.Name(t.data_type) for t in [*config.input, *config.output]}
    expected = {"float": {"z": "TYPE_FP32", "images": "TYPE_FP32"},
                "uint8": {"z": "TYPE_FP32", "images": "TYPE_UINT8"},
                "cond": {"z": "TYPE_FP32", "label": "TYPE_INT64", "images": "TYPE_FP32"}}[kind]
    assert types == expected
    if kind == "uint8":
        assert list(config.output[0].dims) == [4, 4, 1], "NHWC, no batch axis"
    if kind == "cond":
        label = config.input[1]
        assert (list(label.dims), list(label.reshape.shape)) == ([1], []), "(B,) as [1] → []"


def test_settings_reach_the_config(models: dict[str, Path], repo: Path) -> None:
    settings = TritonSettings(max_batch_size=256, instance_kind="cpu", instances=3,
                              max_queue_delay_us=0)
    write_repository(models["float"], repo, settings=settings)
    config = check_against_graph(repo / "float")
    assert (config.max_batch_size, config.dynamic_batching.max_queue_delay_microseconds) == (256,
                                                                                              0)
    assert [(g.kind, g.count) for g in config.instance_group] == [
        (model_config_pb2.ModelInstanceGroup.KIND_CPU, 3)]
    assert "cudnn_conv_algo_search" not in config.parameters, "no cuDNN on a CPU instance"
    assert config.model_warmup[0].batch_size == 256


def test_preferred_batch_sizes_when_asked(models: dict[str, Path], repo: Path) -> None:
    result = invoke("triton", str(models["float"]), "-o", str(repo), "--max-batch-size", "64",
                    "--preferred-batch-sizes", "16,32,64", "-q")
    assert result.exit_code == 0, result.stderr
    config = check_against_graph(repo / "float")
    assert list(config.dynamic_batching.preferred_batch_size) == [16, 32, 64]


@pytest.mark.parametrize(("spec", "message"), [
    ("16,x", "'16,x' is not a list of integers: use e.g. 1,8,64"),
    ("0,16", "must be at least 1 (got 0)"),
    ("16,128", "128 is over --max-batch-size (64): the batcher never forms it"),
    ("32,16", "must rise without repeats (got [32, 16])"),
    ("16,16", "must rise without repeats (got [16, 16])"),
    (",".join(["1"] * 17), "at most 16 sizes (got 17)"),
])
def test_bad_preferred_batch_sizes_are_one_line(models: dict[str, Path], repo: Path,
                                                spec: str, message: str) -> None:
    result = invoke("triton", str(models["float"]), "-o", str(repo), "--preferred-batch-sizes",
                    spec)
    assert (result.exit_code, result.stderr) == (
        2, f"error: --preferred-batch-sizes: {message}\n")
    assert not repo.exists() or not any(repo.iterdir())


def fixed_batch_model(source: Path, path: Path, batch: int) -> Path:
    model = onnx.load(str(source))
    for value in [*model.graph.input, *model.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_value = batch
    onnx.save(model, str(path))
    return path


def test_fixed_batch_graph_is_served_unbatched(models: dict[str, Path], repo: Path,
                                               tmp_path: Path) -> None:
    model = fixed_batch_model(models["cond"], tmp_path / "fixed.onnx", 4)
    write_repository(model, repo)
    config = check_against_graph(repo / "fixed")
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [list(t.dims) for t in config.input] == [[4, 8], [4]]
    assert config.model_warmup[0].batch_size == 1


def test_third_party_model_needs_latent_dim(models: dict[str, Path], repo: Path) -> None:
    refused = invoke("triton", str(models["bare"]), "-o", str(repo))
    assert refused.exit_code == 1 and not repo.exists()
    assert refused.stderr.startswith("error: --latent-dim: not given, and the model has no "
                                     "ganedge contract") and refused.stderr.count("\n") == 1
    ok = invoke("triton", str(models["bare"]), "-o", str(repo), "--latent-dim", "8", "-q")
    assert (ok.exit_code, ok.stdout) == (0, "")
    config = check_against_graph(repo / "bare")
    contract = ModelContract.from_metadata({k: v.string_value
                                            for k, v in config.parameters.items()})
    assert (contract.latent_dim, contract.channels, contract.height) == (8, 1, 4)


def stylegan_pieces(repo: Path, name: str) -> dict[str, ort.InferenceSession]:
    return {part: ort.InferenceSession(str(repo / f"{name}_{part}" / "1" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
            for part in ("mapping", "truncation", "synthesis")}


@pytest.mark.parametrize("classes", [0, 3])
def test_stylegan_becomes_an_ensemble_of_batchable_models(tmp_path: Path, repo: Path,
                                                          classes: int) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx", num_classes=classes)
    written = write_repository(source, repo)
    assert written.models == ("sg", "sg_mapping", "sg_truncation", "sg_synthesis")
    assert sorted(p.name for p in repo.iterdir()) == sorted(written.models), "no staging left"
    configs = {m: check_against_graph(repo / m) for m in written.models[1:]}
    ensemble = parse(repo / "sg")
    assert ensemble.platform == "ensemble" and ensemble.max_batch_size == 64
    assert list((repo / "sg" / "1").iterdir()) == []
    params = {k: v.string_value for k, v in ensemble.parameters.items()}
    assert ModelContract.from_metadata(params) == ganedge.load(source).contract
    names = ["z", "label", "psi"] if classes else ["z", "psi"]
    assert [t.name for t in ensemble.input] == names
    assert not any(t.HasField("reshape") for t in ensemble.input), "[1] meets the mapping's [1]"
    assert [(t.name, list(t.dims)) for t in ensemble.output] == [("images", [3, 8, 8])]
    # every step reads tensors that exist by then, under its own model's input names, and
    # each tensor's type and dims agree between the steps that make and read it: Triton's
    # ensemble check takes an ensemble tensor's reshape if any, a step's plain dims
    tensors = declared(ensemble.input)
    for step in ensemble.ensemble_scheduling.step:
        model = configs[step.model_name]
        inputs, outputs = declared(model.input, plain=True), declared(model.output, plain=True)
        assert set(step.input_map) == set(inputs), step.model_name
        for own, tensor in step.input_map.items():
            assert tensors[tensor] == inputs[own], (step.model_name, own)
        assert set(step.output_map) == set(outputs), step.model_name
        tensors.update({tensor: outputs[own] for own, tensor in step.output_map.items()})
    assert tensors["images"] == declared(ensemble.output)["images"]
    for model in configs.values():  # each piece batches on its own
        assert model.max_batch_size == 64 and model.HasField("dynamic_batching")


@pytest.mark.parametrize("classes", [0, 3])
@pytest.mark.parametrize("psi", [1.0, 0.7, 0.0])
def test_ensemble_pieces_in_sequence_equal_the_runtime(tmp_path: Path, repo: Path,
                                                       classes: int, psi: float) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx", num_classes=classes)
    write_repository(source, repo)
    gen = ganedge.load(source)
    z = gen.latents(range(5))
    labels = np.array([0, 2, 1, 1, 0]) if classes else None
    pieces = stylegan_pieces(repo, "sg")
    feeds = {"z": z, **({"label": labels} if classes else {})}
    (ws,) = pieces["mapping"].run(None, feeds)
    np.testing.assert_array_equal(ws, gen.mapping(z, labels), "the pruned mapping half")
    (truncated,) = pieces["truncation"].run(None, {"ws": ws, "psi": np.full((5, 1), psi,
                                                                              np.float32)})
    (images,) = pieces["synthesis"].run(None, {"ws": truncated})
    np.testing.assert_array_equal(pieces["synthesis"].run(None, {"ws": ws})[0],
                                  gen.synthesis(ws), "the pruned synthesis half")
    np.testing.assert_allclose(images, gen.generate(z, labels, truncation=psi), atol=1e-6)


def test_truncation_is_per_row(tmp_path: Path, repo: Path) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx")
    write_repository(source, repo)
    gen = ganedge.load(source)
    ws = gen.mapping(gen.latents([3, 4]))
    (out,) = stylegan_pieces(repo, "sg")["truncation"].run(
        None, {"ws": ws, "psi": np.array([[0.5], [0.0]], np.float32)})
    np.testing.assert_allclose(out[0], gen.mapping(gen.latents([3]), truncation=0.5)[0],
                               atol=1e-6)
    np.testing.assert_allclose(out[1], np.broadcast_to(np.float32(gen.contract.w_avg),
                                                       (NUM_WS, W_DIM)), atol=1e-6)


def test_refusals_are_one_line_and_write_nothing(models: dict[str, Path], repo: Path,
                                                 tmp_path: Path) -> None:
    invoke("triton", str(models["float"]), "-o", str(repo), "--name", "gen", "-q")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()}
    fixed = fixed_batch_model(models["float"], tmp_path / "fixed.onnx", 128)
    ort_file = tmp_path / "model.ort"
    ort_file.write_bytes(b"ORT")
    cases = {
        ("triton", str(models["uint8"]), "-o", str(repo), "--name", "gen"):
            "error: --output: model folder",
        ("triton", str(fixed), "-o", str(repo)):
            "error: MODEL: the graph's fixed batch is 128, over 64: raise --max-batch-size",
        ("triton", str(ort_file), "-o", str(repo)):
            "error: MODEL: Triton's ONNX Runtime backend reads .onnx files",
        ("triton", str(models["float"]), "-o", str(repo), "--name", "../up"):
            "error: --name: '../up' is not a model name",
        ("triton", str(models["float"]), "-o", str(repo), "--instances", "0"):
            "error: --instances: must be at least 1 (got 0)",
        ("triton", str(models["float"]), "-o", str(repo), "--max-queue-delay-us", "-1"):
            "error: --max-queue-delay-us: must be at least 0 (got -1)",
        ("triton", str(models["float"]), "-o", str(models["float"])):
            "error: --output: ",
        ("triton", str(tmp_path / "missing.onnx"), "-o", str(repo)):
            "error: MODEL: ",
    }
    for args, start in cases.items():
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.stderr)
        assert result.stderr.startswith(start) and result.stderr.count("\n") == 1, result.stderr
    assert "give --force to replace it, or another --name" in invoke(*next(iter(cases))).stderr
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in repo.iterdir()) == ["gen"], "no staging folder left"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed.onnx", "model.ort",
                                                          "model_repository"]


def test_a_failed_check_writes_nothing(tmp_path: Path, repo: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx")
    monkeypatch.setattr("ganedge.triton.SPLIT_TOLERANCE", -1.0)  # any difference fails
    result = invoke("triton", str(source), "-o", str(repo))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the split mapping and synthesis differ from sg.onnx")
    assert list(repo.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_repository", "sg.onnx"]


def test_force_replaces_every_folder_of_the_model(tmp_path: Path, repo: Path) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx")
    assert invoke("triton", str(source), "-o", str(repo), "--max-batch-size", "8").exit_code == 0
    (repo / "sg_mapping" / "2").mkdir()  # a version the next write does not make
    result = invoke("triton", str(source), "-o", str(repo), "--max-batch-size", "16", "--force")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"wrote {repo / 'sg'}/"
    assert {parse(repo / m).max_batch_size for m in ("sg", "sg_mapping", "sg_synthesis")} == {16}
    assert not (repo / "sg_mapping" / "2").exists()
    assert sorted(p.name for p in repo.iterdir()) == ["sg", "sg_mapping", "sg_synthesis",
                                                      "sg_truncation"]


def test_stylegan_without_onnx_names_the_extra(tmp_path: Path, repo: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    source = tiny_stylegan(tmp_path / "sg.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.delitem(sys.modules, "ganedge.triton.split", raising=False)
    result = invoke("triton", str(source), "-o", str(repo))
    assert result.exit_code == 3
    assert result.stderr == ("error: a StyleGAN model is split into mapping and synthesis models "
                             "with the onnx package, which is not installed: pip install "
                             "'ganedge[triton]' brings it\n")
    assert list(repo.iterdir()) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_survives_quoting(text: str) -> None:
    assert text_format.Parse(f"name: {quote(text)}", Config()).name == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_model_names_are_folder_names_or_refused(name: str) -> None:
    try:
        check_name(name)
    except InputError as exc:
        assert exc.param == "name"
        return
    assert name not in (".", "..") and "/" not in name and "\\" not in name and len(name) <= 100


class RepositoryStub:
    """Triton's gRPC service over a written repository, for the real tritonclient: the client
    builds and reads the same protobuf messages it would send over the wire; configs come from
    the config.pbtxt files, inference runs the ONNX models (an ensemble step by step, with
    Triton's shape check and reshape) with ONNX Runtime on CPU."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    # named as Triton's gRPC service names them
    def ModelConfig(self, request: object, **_: object) -> object:
        return service_pb2.ModelConfigResponse(config=parse(self.repo / request.name))

    def ModelInfer(self, request: object, **_: object) -> object:
        config = parse(self.repo / request.model_name)
        tensors = {t.name: np.frombuffer(raw, triton_to_np_dtype(t.datatype)).reshape(t.shape)
                   for t, raw in zip(request.inputs, request.raw_input_contents)}
        for t in config.input:  # Triton's own check of a request: dims after the batch
            assert list(tensors[t.name].shape[1:]) == list(t.dims), (config.name, t.name)
        if config.platform == "ensemble":
            for step in config.ensemble_scheduling.step:
                out = self.run(parse(self.repo / step.model_name),
                               {own: tensors[name] for own, name in step.input_map.items()})
                tensors.update({name: out[own] for own, name in step.output_map.items()})
        else:
            tensors.update(self.run(config, tensors))
        response = service_pb2.ModelInferResponse(model_name=request.model_name)
        for name in [o.name for o in request.outputs] or [o.name for o in config.output]:
            array = tensors[name]
            response.outputs.add(name=name, datatype=np_to_triton_dtype(array.dtype),
                                 shape=array.shape)
            response.raw_output_contents.append(array.tobytes())
        return response

    def run(self, config: Config, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {}
        for t in config.input:
            array = tensors[t.name]
            assert list(array.shape[1:]) == list(t.dims), (config.name, t.name, array.shape)
            assert DataType.Name(t.data_type) == "TYPE_" + np_to_triton_dtype(array.dtype)
            feeds[t.name] = (array.reshape(len(array), *t.reshape.shape)
                             if t.HasField("reshape") else array)
        session = ort.InferenceSession(str(self.repo / config.name / "1" / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        names = [o.name for o in config.output]
        return dict(zip(names, session.run(names, feeds)))


def doc_snippet(marker: str) -> str:
    """The python block of docs/triton.md that contains ``marker``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    (block,) = [b for b in blocks if marker in b]
    return block


def test_the_docs_grpc_snippet_gets_the_runtimes_images(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    grpcclient = pytest.importorskip("tritonclient.grpc")
    source = tiny_stylegan(tmp_path / "sg.onnx", num_classes=3)
    repo = tmp_path / "model_repository"
    write_repository(source, repo, name="ffhq")
    real = grpcclient.InferenceServerClient

    def client(url: str) -> object:
        made = real(url)  # a channel object only: nothing connects until a call
        made._client_stub = RepositoryStub(repo)
        return made

    monkeypatch.setattr(grpcclient, "InferenceServerClient", client)
    scope: dict[str, object] = {}
    exec(doc_snippet("grpcclient"), scope)  # noqa: S102 - the documentation's own code
    gen = ganedge.load(source)
    z = gen.latents(scope["seeds"])
    expected = to_uint8_nhwc(gen.generate(z, [1, 1, 2, 2], truncation=0.7))
    np.testing.assert_array_equal(scope["pixels"], expected)
