"""Property-based fuzzing of the CLI's and the API's arguments (Hypothesis, fixed seed, bounded).

The CLI (in-process) may refuse anything, but always as one ``error: …`` line or click's own usage
message, with a non-zero exit and no traceback; the API raises nothing but GanEdgeError. Values
are small-and-plausible or absurd (so a valid draw stays quick and an absurd one must be refused
before any work), plus the wrong types a web form or a JSON body would bring.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

import ganedge
from ganedge.errors import GanEdgeError
from tests.ganedge.conftest import invoke

FUZZ = settings(max_examples=300, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

SMALL = st.integers(-3, 12)
ABSURD = st.sampled_from([10**9 + 1, 10**12, 2**63, 2**64, -(2**63), 10**30])
INTS = st.one_of(SMALL, ABSURD)
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, 0.5, 1.0, 1e-4, -1.0, 1e308]))
TEXT = st.text(alphabet="0123456789-,/ .eaxn_", max_size=12)
NUMBER_TEXT = st.one_of(INTS.map(str), FLOATS.map(repr), TEXT)
SEED_SPECS = st.one_of(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=4)
    .map(lambda parts: ",".join(f"{a}-{b}" for a, b in parts)),
    st.sampled_from([f"0-{10**12}", "5", "", ",", "9-3", "-1", "1_0", "0-3,x", "٣"]), TEXT)


def _options(pool: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[list[str]]:
    """A few of these options, each with a drawn value, flattened to argv."""
    return st.lists(st.sampled_from(sorted(pool)), max_size=4, unique=True).flatmap(
        lambda names: st.tuples(*[pool[n] for n in names]).map(
            lambda values: [item for n, v in zip(names, values) for item in (n, v)]))


def _check(result: Any) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback: {result.exception!r}") from result.exception
    if result.exit_code == 0:
        return
    lines = [line for line in result.stderr.strip().splitlines()
             if not line.startswith(("note:", "warning:", "timing "))]
    usage = "Usage:" in result.stderr  # click's own message for an unparsable option value
    assert usage or (len(lines) == 1 and lines[0].startswith("error: ")), result.stderr


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(autouse=True)
def _in_out(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a command run without -o writes its default file (samples.png) into the working folder
    monkeypatch.chdir(out)


COMMON = {"--threads": NUMBER_TEXT, "--batch-size": NUMBER_TEXT, "--truncation": NUMBER_TEXT,
          "--latent-dim": NUMBER_TEXT, "--label": NUMBER_TEXT, "--provider": TEXT}


@FUZZ
@given(args=_options({**COMMON, "-n": NUMBER_TEXT, "--seed": NUMBER_TEXT, "--seeds": SEED_SPECS,
                      "--shard": TEXT, "-o": st.sampled_from(["a.png", "a.jpg", "a.txt", "b",
                                                              "a.webp", "x/a.png"])}))
def test_sample_arguments(models: dict[str, Path], out: Path, args: list[str]) -> None:
    args = [str(out / a) if a.endswith(("png", "jpg", "txt", "webp")) or a == "b" else a
            for a in args]
    _check(invoke("sample", str(models["cond"]), "--no-progress", *args))


@FUZZ
@given(args=_options({**COMMON, "--frames": NUMBER_TEXT, "--seeds": SEED_SPECS,
                      "--grid": NUMBER_TEXT, "--fps": NUMBER_TEXT, "--scale": NUMBER_TEXT,
                      "--interpolation": TEXT, "--easing": TEXT}))
def test_walk_arguments(models: dict[str, Path], out: Path, args: list[str]) -> None:
    _check(invoke("walk", str(models["float"]), "--no-progress", "-o", str(out / "w.gif"), *args))


def _no_timing(candidates: Any, latent_dim: int, config: Any, **_: Any) -> list:
    """run_bench without the worker processes: the arguments are what is fuzzed here."""
    from ganedge.bench.timing import check_batch_bytes

    check_batch_bytes(config, latent_dim, 0)
    return []


@FUZZ
@given(args=_options({"--batch": NUMBER_TEXT, "--budget": NUMBER_TEXT, "--threads": NUMBER_TEXT,
                      "--latent-dim": NUMBER_TEXT, "--provider": TEXT}))
def test_bench_arguments(models: dict[str, Path], args: list[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    import ganedge.bench

    monkeypatch.setattr(ganedge.bench, "run_bench", _no_timing)
    _check(invoke("bench", str(models["float"]), *args))


@settings(FUZZ, max_examples=60)
@given(n=st.one_of(st.integers(-3, 5), ABSURD).map(str), args=_options(
    {"--seed": NUMBER_TEXT, "--eval-seed": NUMBER_TEXT, "--latent-dim": NUMBER_TEXT,
     "--inception-range": TEXT, "--provider": TEXT, "--data": TEXT}))
def test_eval_arguments(models: dict[str, Path], n: str, args: list[str]) -> None:
    # -n is always below the k-NN minimum or absurd, so no draw starts a full evaluation
    _check(invoke("eval", str(models["float"]), "-n", n, *args))


ANY = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT, st.lists(INTS, max_size=4),
                st.lists(st.one_of(INTS, FLOATS, TEXT), max_size=3))


@FUZZ
@given(kwargs=st.fixed_dictionaries({}, optional={
    "seed": ANY, "seeds": ANY, "truncation": ANY, "labels": ANY, "batch_size": ANY}),
    n_or_seeds=ANY)
def test_api_sample_raises_only_its_own_errors(models: dict[str, Path], n_or_seeds: Any,
                                               kwargs: dict[str, Any]) -> None:
    gen = _loaded(models["cond"])
    try:
        images = gen.sample(n_or_seeds, **kwargs)
    except GanEdgeError:
        return
    assert images.dtype == np.uint8 and images.shape[1:] == gen.image_shape


@FUZZ
@given(keyframes=ANY, kwargs=st.fixed_dictionaries({}, optional={
    "frames": ANY, "interpolation": ANY, "easing": ANY, "loop": ANY, "truncation": ANY,
    "label": ANY, "batch_size": ANY}))
@example(keyframes=[0, 1], kwargs={"frames": 3, "loop": False, "batch_size": 2})
@example(keyframes=[5, 2, 7], kwargs={"frames": 2, "truncation": 0.5, "easing": "linear"})
def test_api_walk_raises_only_its_own_errors(models: dict[str, Path], keyframes: Any,
                                             kwargs: dict[str, Any]) -> None:
    gen = _loaded(models["float"])
    try:
        frames = gen.walk(keyframes, **kwargs)
    except GanEdgeError:
        return
    keys, per, loop = list(keyframes), kwargs.get("frames", 24), bool(kwargs.get("loop", True))
    assert frames.dtype == np.uint8 and frames.shape[1:] == gen.image_shape
    assert len(frames) == per * (len(keys) if loop else len(keys) - 1) + (not loop)
    first = gen.sample(keys[:1], truncation=kwargs.get("truncation", 1.0))
    np.testing.assert_array_equal(frames[0], first[0], "the walk starts on its first keyframe")


@settings(FUZZ, max_examples=60)
@given(kwargs=st.fixed_dictionaries({}, optional={
    "provider": st.one_of(TEXT, st.sampled_from(["cpu", "auto"]), INTS), "threads": ANY,
    "latent_dim": ANY, "strict_provider": ANY, "allow_nonfinite": ANY}),
    path=st.sampled_from(["float", "bare", "none", "int"]))
def test_api_load_raises_only_its_own_errors(models: dict[str, Path], path: str,
                                             kwargs: dict[str, Any]) -> None:
    where = {"none": None, "int": 7}.get(path, models.get(path))
    try:
        gen = ganedge.load(where, **kwargs)
    except GanEdgeError:
        return
    assert gen.sample(2).shape[0] == 2


@FUZZ
@given(z=st.one_of(ANY, st.tuples(st.integers(0, 3), st.integers(0, 10)).map(
    lambda shape: np.full(shape, 0.5, np.float32))), labels=ANY)
def test_api_generate_raises_only_its_own_errors(models: dict[str, Path], z: Any,
                                                 labels: Any) -> None:
    gen = _loaded(models["cond"])
    try:
        out = gen.generate(z, labels)
    except GanEdgeError:
        return
    assert out.shape[0] == len(z) and math.isfinite(float(out.sum()))


_CACHE: dict[Path, ganedge.GeneratorModel] = {}


def _loaded(path: Path) -> ganedge.GeneratorModel:
    if path not in _CACHE:
        _CACHE[path] = ganedge.load(path, provider="cpu")
    return _CACHE[path]
