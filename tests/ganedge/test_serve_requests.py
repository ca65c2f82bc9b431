"""What `ganedge serve` accepts, checked without a server: the request parsers of
ganedge.ray.http, and one replica's batch rendering (ganedge.ray.service.Replica) in-process."""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import ganedge
from ganedge.contract import ModelContract
from ganedge.errors import InputError
from ganedge.io.imaging import png_bytes
from ganedge.ray import service
from ganedge.ray.http import Job, Limits, parse_generate, parse_sample, sample_job
from ganedge.ray.service import Replica, ServeConfig, grid_png
from ganedge.runtime.model import default_model_path
from tests.e2e.stylegan_graph import tiny_stylegan
from tests.ganedge.conftest import invoke

PLAIN = ModelContract(latent_dim=4, channels=1, height=8, width=8)
COND = ModelContract(latent_dim=4, channels=3, height=8, width=8, num_classes=3)
LIMITS = Limits(max_images=8, max_response_bytes=8 * 8 * 8 * 3, max_body_bytes=4096,
                max_query_chars=64)


def test_a_sample_query_becomes_one_job() -> None:
    job = parse_sample([("seed", "42"), ("truncation", "0.5"), ("label", "2")], COND, LIMITS)
    assert (job.seed, job.truncation, job.label, job.z) == (42, 0.5, 2, None)
    assert parse_sample([("seed", "7")], COND, LIMITS).label == 7 % 3  # `ganedge sample`'s rule
    assert parse_sample([("seed", "7")], PLAIN, LIMITS).label is None


@pytest.mark.parametrize(("query", "message"), [
    ([], "seed: missing: ask for e.g. /sample?seed=42"),
    ([("seed", "-1")], "seed: must be a whole number in [0, 9223372036854775807] (got '-1')"),
    ([("seed", "9" * 30)], ("seed: must be a whole number in [0, 9223372036854775807] (got "
                           "'999999999999999999999999999999')")),
    ([("seed", "1_0")], "seed: must be a whole number in [0, 9223372036854775807] (got '1_0')"),
    ([("seed", "1"), ("truncation", "nan")],
     "truncation: must be in [0, 1] (got nan): 1 is no truncation, 0 the mean image"),
    ([("seed", "1"), ("truncation", "inf")],
     "truncation: must be in [0, 1] (got inf): 1 is no truncation, 0 the mean image"),
    ([("seed", "1"), ("truncation", "x")], "truncation: must be a number in [0, 1] (got 'x')"),
    ([("seed", "1"), ("label", "3")], "label: must be at most 2 (got 3)"),
    ([("seed", "1"), ("seed", "2")], "seed: given twice: give it once"),
    ([("seed", "1"), ("sed", "2")], "query: unknown parameter 'sed': use seed, truncation, label"),
    ([("seed", "1" * 70)], ("query: is 76 characters long (at most 64): ask with seed, "
                           "truncation and label only")),
])
def test_a_bad_sample_query_is_one_input_error(query: list[tuple[str, str]],
                                                message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_sample(query, COND, LIMITS)
    assert str(caught.value) == message


def test_a_label_for_an_unconditional_model_is_refused() -> None:
    with pytest.raises(InputError, match="^label: this model is unconditional: drop it$"):
        parse_sample([("seed", "1"), ("label", "0")], PLAIN, LIMITS)


def test_a_python_callers_sample_is_checked_like_the_query() -> None:
    """DeploymentHandle.sample_png's values: the job GET /sample makes, the same refusals."""
    assert sample_job(7, truncation=0.5, label=None, contract=COND) == parse_sample(
        [("seed", "7"), ("truncation", "0.5")], COND, LIMITS)
    assert sample_job(7, truncation=1, label=1, contract=COND).label == 1
    for kwargs, message in [
            ({"seed": -1}, "seed: must be at least 0 (got -1)"),
            ({"seed": True}, "seed: must be an integer (got True)"),
            ({"seed": "7"}, "seed: must be an integer (got '7')"),
            ({"truncation": float("nan")},
             "truncation: must be in [0, 1] (got nan): 1 is no truncation, 0 the mean image"),
            ({"label": 3}, "label: must be at most 2 (got 3)")]:
        values = {"seed": 7, "truncation": 1.0, "label": None, **kwargs}
        with pytest.raises(InputError) as caught:
            sample_job(values.pop("seed"), contract=COND, **values)
        assert str(caught.value) == message
    with pytest.raises(InputError, match="^label: this model is unconditional: drop it$"):
        sample_job(1, truncation=1.0, label=0, contract=PLAIN)


def test_generate_bodies_become_jobs_in_order() -> None:
    asked = parse_generate(b'{"seeds": [5, 1, 5], "truncation": 0.7, "labels": 1}', COND, LIMITS)
    assert [(j.seed, j.label, j.truncation) for j in asked.jobs] == [(5, 1, 0.7), (1, 1, 0.7),
                                                                     (5, 1, 0.7)]
    assert not asked.grid
    asked = parse_generate(b'{"latents": [[0, 1, 2, 3.5]], "labels": [2], "grid": true}', COND,
                           LIMITS)
    jobs = asked.jobs
    assert asked.grid and jobs[0].seed is None and jobs[0].label == 2
    assert jobs[0].z.dtype == np.float32 and jobs[0].z.tolist() == [0, 1, 2, 3.5]


@pytest.mark.parametrize(("body", "message"), [
    (b"", 'body: must be a JSON object, e.g. {"seeds": [1, 2, 3]}'),
    (b"\xff\xfe", 'body: must be a JSON object, e.g. {"seeds": [1, 2, 3]}'),
    (b"[" * 4000, 'body: must be a JSON object, e.g. {"seeds": [1, 2, 3]}'),
    (b"[1]", 'body: must be a JSON object, e.g. {"seeds": [1, 2, 3]} (got list)'),
    (b'{"seeds": [1], "latents": [[1, 2, 3, 4]]}',
     "body: give either `seeds` or `latents`, not both or neither"),
    (b'{"seed": [1]}',
     "body: unknown field(s) 'seed': use seeds, latents, truncation, labels, grid"),
    (b'{"seeds": [1], "grid": 1}', "grid: must be true or false (got '1')"),
    (b'{"seeds": [1], "grid": "yes"}', "grid: must be true or false (got 'yes')"),
    (b'{"seeds": [1], "seeds": [2]}', "seeds: given twice: give it once"),
    (b'{"seeds": [1], "truncation": {"a": 1, "a": 2}}', "a: given twice: give it once"),
    (b'{"seeds": []}', "seeds: must be a non-empty list of seeds, e.g. [1, 2, 3]"),
    (b'{"seeds": [1.5]}', "seeds: must be an integer (got 1.5)"),
    (b'{"seeds": [true]}', "seeds: must be an integer (got True)"),
    (b'{"seeds": [-3]}', "seeds: must be at least 0 (got -3)"),
    (b'{"seeds": [1e400]}', "seeds: must be an integer (got inf)"),
    (b'{"seeds": [' + b"1," * 8 + b"1]}", ("seeds: must be at most 8 (got 9): ask in several "
                                          "requests")),
    (b'{"seeds": [1], "truncation": NaN}',
     "truncation: must be in [0, 1] (got nan): 1 is no truncation, 0 the mean image"),
    (b'{"seeds": [1], "truncation": "0.5"}', "truncation: must be a number (got '0.5')"),
    (b'{"seeds": [1, 2], "labels": [1]}', "labels: expected one class id or 2 (got 1)"),
    (b'{"seeds": [1], "labels": 3}', "labels: must be at most 2 (got 3)"),
    (b'{"latents": [[1, 2, 3]], "labels": 0}', "latents: each latent must be a list of 4 numbers"),
    (b'{"latents": [[1, 2, 3, "4"]], "labels": 0}',
     "latents: each latent must be a list of 4 numbers"),
    (b'{"latents": [[1, 2, 3, 1e39]], "labels": 0}',
     "latents: holds NaN, Inf or a number beyond float32: latents must be finite"),
    (b'{"latents": [[1, 2, 3, 4]]}',
     "labels: this model is conditional (3 classes): give `labels` with `latents`"),
    (b'{"seeds": [1]}' + b" " * 5000, "body: is over 4,096 bytes: ask for fewer images"),
])
def test_a_bad_generate_body_is_one_input_error(body: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_generate(body, COND, LIMITS)
    assert str(caught.value) == message


def test_the_pixel_budget_bounds_a_request() -> None:
    limits = Limits(max_images=8, max_response_bytes=8 * 8 * 3 * 2)  # two 8x8 RGB images
    parse_generate(b'{"seeds": [1, 2]}', COND, limits)
    with pytest.raises(InputError, match=r"^seeds: 3 images of 8x8x3 would take 576 bytes \(at "
                                         r"most 384 bytes\): ask in several requests$"):
        parse_generate(b'{"seeds": [1, 2, 3]}', COND, limits)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["seeds", "latents", "truncation", "labels", "grid", "x"]), inner,
        max_size=4),
    max_leaves=20).map(lambda v: json.dumps(v).encode()))
def test_any_body_is_jobs_or_one_input_error(body: bytes) -> None:
    try:
        asked = parse_generate(body, COND, LIMITS)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert 1 <= len(asked.jobs) <= LIMITS.max_images
    assert all(0.0 <= j.truncation <= 1.0 and j.label in (0, 1, 2) for j in asked.jobs)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["seed", "truncation", "label", "q"]),
                          st.text(max_size=12)), max_size=4))
def test_any_query_is_a_job_or_one_input_error(query: list[tuple[str, str]]) -> None:
    try:
        job = parse_sample(query, COND, LIMITS)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert job.seed is not None and job.seed >= 0 and job.label in (0, 1, 2)


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_batch_mixes_kinds_and_psi_and_matches_sample(tmp_path: Path,
                                                        models: dict[str, Path]) -> None:
    replica = Replica(ServeConfig(model=str(models["cond"]), max_batch_size=4))
    gen = ganedge.load(models["cond"])
    z = gen.latents([9])[0]
    jobs = [Job(truncation=1.0, seed=3, label=0), Job(truncation=0.5, seed=4, label=1),
            Job(truncation=1.0, seed=5, label=2), Job(truncation=0.5, z=z, label=2)]
    pngs = replica.render_batch(jobs)
    assert invoke("sample", str(models["cond"]), "--seeds", "3", "--label", "0", "--outdir",
                  str(tmp_path / "a"), "-q").exit_code == 0
    assert pngs[0] == (tmp_path / "a" / "seed0003.png").read_bytes()
    assert (_pixels(pngs[1]) == gen.sample([4], truncation=0.5, labels=1)[0]).all()
    assert (_pixels(pngs[2]) == gen.sample([5], labels=2)[0]).all()
    assert (_pixels(pngs[3]) == gen.sample([9], truncation=0.5, labels=2)[0]).all()
    assert (replica.batches, replica.images) == (1, 4)


def test_a_stylegan_batch_truncates_in_w(tmp_path: Path) -> None:
    path = tiny_stylegan(tmp_path / "sg.onnx")
    replica = Replica(ServeConfig(model=str(path), max_batch_size=8))
    gen = ganedge.load(path)
    seeds = [11, 12, 13]  # padded to a run of 4
    pngs = replica.render_batch([Job(truncation=0.6, seed=s, label=None) for s in seeds])
    assert invoke("sample", str(path), "--seeds", "11-13", "--truncation", "0.6", "--outdir",
                  str(tmp_path / "ref"), "-q").exit_code == 0
    assert pngs == [(tmp_path / "ref" / f"seed{s:04d}.png").read_bytes() for s in seeds]
    latent = replica.render_batch([Job(truncation=0.6, z=gen.latents([11])[0], label=None)])
    assert (_pixels(latent[0]) == _pixels(pngs[0])).all()
    assert base64.b64decode(base64.b64encode(pngs[0])) == pngs[0]


def test_a_replica_with_cpus_encodes_a_batch_on_threads_into_the_same_bytes(
        models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [Job(truncation=1.0, seed=s, label=s % 3) for s in range(6)]
    one = Replica(ServeConfig(model=str(models["cond"]), max_batch_size=8))
    expected = one.render_batch(jobs)
    four = Replica(ServeConfig(model=str(models["cond"]), max_batch_size=8, num_cpus=4))
    threads: set[str] = set()

    def spy(image: np.ndarray, text: dict[str, str]) -> bytes:
        threads.add(threading.current_thread().name)
        return png_bytes(image, text)

    monkeypatch.setattr(service, "png_bytes", spy)
    assert four.render_batch(jobs) == expected
    assert threads and all(name.startswith("ganedge-png") for name in threads)
    threads.clear()
    one.render_batch(jobs)
    assert threads == {threading.current_thread().name}  # one CPU: encoded in line


@pytest.mark.parametrize("model", ["cond", "digits"])
def test_a_grid_is_the_png_of_ganedge_sample_with_a_grid_output(
        tmp_path: Path, models: dict[str, Path], model: str) -> None:
    path = models[model] if model == "cond" else default_model_path()  # RGB, and grey
    replica = Replica(ServeConfig(model=str(path), max_batch_size=8))
    classes = replica.contract.num_classes
    seeds = (4, 9, 6, 11, 2)  # a 3x2 grid with an empty cell
    pngs = replica.render_batch([Job(truncation=0.8, seed=s, label=s % classes if classes else None)
                                 for s in seeds])
    grid = tmp_path / "grid.png"
    assert invoke("sample", str(path), "--seeds", ",".join(map(str, seeds)), "--truncation",
                  "0.8", "--scale", "1", "-o", str(grid), "-q").exit_code == 0
    assert grid_png(pngs) == grid.read_bytes()
