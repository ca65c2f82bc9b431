"""provider="openvino": OpenVINO's CPU plugin runs the same .onnx with the same contract checks,
the same images (within one 8-bit level) and the same one-line errors as ONNX Runtime."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import ganedge
from ganedge.errors import GanEdgeError, InputError, MissingExtraError
from ganedge.runtime import providers as prov
from tests.e2e.stylegan_graph import tiny_stylegan
from tests.ganedge.conftest import invoke
from tests.ganedge.hostile import CASES, build_corpus

pytest.importorskip("openvino", reason="the openvino extra is not installed")


def assert_same_images(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Within one 8-bit level everywhere, and exact almost everywhere (float rounding differs
    between the two runtimes' kernels, so a pixel on a rounding edge may land one level off)."""
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.uint8
    diff = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    assert diff.max() <= 1 and (diff == 0).mean() >= 0.999


@pytest.mark.parametrize("name", ["float", "uint8", "cond", "bundled"])
def test_openvino_samples_the_images_onnx_runtime_samples(models: dict[str, Path],
                                                          name: str) -> None:
    path = models.get(name)  # None: the bundled digits model
    on_ort, on_ov = ganedge.load(path, provider="cpu"), ganedge.load(path, provider="openvino")
    assert on_ov.providers == [prov.OPENVINO] and on_ov.contract == on_ort.contract
    labels = [0, 2, 1] * 20 if on_ov.contract.conditional else None
    # 60 images in batches of 16: a full batch and a remainder, i.e. two compiled shapes
    assert_same_images(on_ov.sample(60, labels=labels, batch_size=16),
                       on_ort.sample(60, labels=labels, batch_size=16))


def test_stylegan_halves_run_on_openvino(tmp_path: Path) -> None:
    path = tiny_stylegan(tmp_path / "sg.onnx")
    on_ort, on_ov = ganedge.load(path, provider="cpu"), ganedge.load(path, provider="openvino")
    assert_same_images(on_ov.sample(10, truncation=0.5), on_ort.sample(10, truncation=0.5))
    assert_same_images(on_ov.mix([1, 2], [3, 4]), on_ort.mix([1, 2], [3, 4]))
    assert_same_images(on_ov.walk([1, 2], frames=4), on_ort.walk([1, 2], frames=4))


def test_fp32_stays_fp32_and_threads_are_honoured(models: dict[str, Path]) -> None:
    import openvino as ov

    gen = ganedge.load(models["float"], provider="openvino", threads=1)
    gen.sample(2)
    # OpenVINO would pick bf16 by itself on CPUs with AMX or AVX512-BF16
    assert gen.session.compiled_property("INFERENCE_PRECISION_HINT") == ov.Type.f32
    assert gen.session.compiled_property("INFERENCE_NUM_THREADS") == 1 and gen.threads == 1


def test_threads_sharing_one_model_get_their_own_images(models: dict[str, Path]) -> None:
    gen = ganedge.load(models["cond"], provider="openvino")
    want = {seed: gen.sample([seed], labels=seed % 3) for seed in range(8)}
    got: dict[int, np.ndarray] = {}

    def work(seed: int) -> None:
        for _ in range(20):
            got[seed] = gen.sample([seed], labels=seed % 3)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed, image in want.items():
        np.testing.assert_array_equal(got[seed], image)


def test_the_host_process_keeps_its_float_mode_and_affinity(models: dict[str, Path]) -> None:
    affinity = os.sched_getaffinity(0)
    ganedge.load(models["float"], provider="openvino").sample(8)
    assert 2.2250738585072014e-308 / 4 != 0.0  # no flush-to-zero left behind
    assert os.sched_getaffinity(0) == affinity


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("hostile-ov"))


@pytest.mark.parametrize("name", [*sorted(CASES), "picture"])
def test_a_hostile_file_is_one_of_our_errors_on_openvino(corpus: dict[str, Path], name: str,
                                                         tmp_path: Path,
                                                         capfd: pytest.CaptureFixture[str]) -> None:
    path = corpus.get(name) or tmp_path / "walk.gif"
    if name == "picture":  # a file of another format: no other framework's reader may log
        path.write_bytes(b"GIF89a" + bytes(range(256)) * 8)
    with pytest.raises(GanEdgeError) as caught:
        ganedge.load(path, provider="openvino").sample(3)
    message = str(caught.value)
    assert "\n" not in message and capfd.readouterr().err == ""
    if name == "picture":
        return
    if name != "not_onnx":  # OpenVINO's reader words an unreadable file its own way
        assert CASES[name].message in message


@pytest.mark.parametrize("name", ["sound", "static_batch", "static_batch_bare", "sigmoid"])
def test_odd_but_sound_files_give_the_same_images(corpus: dict[str, Path], name: str) -> None:
    latent_dim = 8 if name == "static_batch_bare" else None  # no contract: a third-party file
    on_ort, on_ov = (ganedge.load(corpus[name], provider=p, latent_dim=latent_dim)
                     for p in ("cpu", "openvino"))
    assert on_ov.static_batch == on_ort.static_batch
    assert_same_images(on_ov.sample(5, batch_size=4), on_ort.sample(5, batch_size=4))


def test_an_ort_format_file_is_refused_naming_the_onnx(models: dict[str, Path],
                                                       tmp_path: Path) -> None:
    ort_file = tmp_path / "m.ort"
    converted = invoke("convert", str(models["float"]), "--to", "ort", "-o", str(ort_file))
    assert converted.exit_code == 0
    with pytest.raises(InputError, match=r"^provider: OpenVINO reads \.onnx files"):
        ganedge.load(ort_file, provider="openvino")


def test_without_openvino_the_error_names_the_extra(models: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'ganedge\[openvino\]'"):
        ganedge.load(models["float"], provider="openvino")
    result = invoke("sample", str(models["float"]), "--provider", "openvino", "-n", "2",
                    "-o", str(tmp_path / "never.png"))
    assert result.exit_code == 3 and not any(tmp_path.iterdir())
    assert result.stderr.count("\n") == 1 and "--provider" in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_times_openvino_beside_onnx_runtime(models: dict[str, Path]) -> None:
    result = invoke("bench", str(models["float"]), "--provider", "cpu", "--provider", "openvino",
                    "--batch", "1,4", "--budget", "0.05", "--json", "-", "-q")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {(r["provider_used"], r["batch"]): r for r in report["rows"]}
    assert set(rows) == {(p, b) for p in (prov.CPU, prov.OPENVINO) for b in (1, 4)}
    for batch in (1, 4):
        row = rows[(prov.OPENVINO, batch)]
        assert row["status"] == "ok" and row["parity_max_abs"] < 1e-5
    assert report["machine"]["openvino"]


def test_eval_scores_an_openvino_run() -> None:
    # an Inception .onnx given to eval runs on ONNX Runtime's CPU provider: OpenVINO runs models
    assert prov.ort_providers("openvino") == [prov.CPU]
    result = invoke("eval", "--provider", "openvino", "-n", "300", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["protocol"]["provider"] == prov.OPENVINO and report["figures"]
