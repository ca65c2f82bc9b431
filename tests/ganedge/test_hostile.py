"""Hostile files and absurd arguments: one clear line, a non-zero exit, no traceback, bounded
memory. The corpus and the driver live in tests/ganedge/hostile.py; the driver runs in one
subprocess so its peak RSS is measured as this process's children's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ganedge
from ganedge.errors import GanEdgeError
from tests.ganedge.hostile import CASES, absurd_arguments, build_corpus

ROOT = Path(__file__).resolve().parents[2]
MAX_RSS_MB = 500  # the whole corpus × every command, in one process

ABSURD_MESSAGES = {
    "n_1e12": "error: -n: must be at most 1,000,000,000 (got 1,000,000,000,000)",
    "seeds_1e12": "error: --seeds: must be at most 1,000,000,000 (got 1,000,000,000,001)",
    "grid_1e8": "error: --output: a grid of 100,000,000 images is too large to look at",
    "seed_huge": "error: --seed: must be at most",
    "threads_1e5": "error: --threads: must be at most",
    "suffix_txt": "error: --output: 'a.txt' is not .png, .jpg, .jpeg or .webp",
    "no_suffix": "error: --output: 'noext' is not .png, .jpg, .jpeg or .webp",
    "batch_size_1e9": "error: --batch-size: must be at most 65,536",
    "walk_frames_1e5": "error: --frames: must be at most 100,000 (got 400,000)",
    "walk_seeds_1e5": "error: --seeds: must be at most 100,000 (got 100,001) keyframes",
    "walk_grid_1e5": "error: --grid: must be at most 1,024 (got 100,000)",
    "walk_scale_1e5": "error: --scale: must be at most 64 (got 100,000)",
    "walk_fps_nan": "error: --fps: must be in [0.1, 100] (got nan)",
    "walk_fps_tiny": "error: --fps: must be in [0.1, 100] (got 0.0001)",
    "bench_batch_1e8": "error: --batch: must be at most 65,536",
    "bench_budget_nan": "error: --budget: must be in [0.001, 3600] (got nan)",
    "bench_threads_1e5": "error: --threads: must be at most",
    "eval_n_1e12": "error: -n: 1,000,000,000,000 images of 4x4x1 would take",
}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The driver's JSON, and the children's peak RSS, from one subprocess."""
    folder = tmp_path_factory.mktemp("hostile")
    result = subprocess.run([sys.executable, "-m", "tests.ganedge.hostile", str(folder)],
                            capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def _one_line_failure(outcome: dict[str, Any]) -> str:
    assert outcome["traceback"] is None, outcome
    assert outcome["exit"] not in (0, None), outcome
    lines = outcome["stderr"].strip().splitlines()
    errors = [line for line in lines if not line.startswith(("note:", "warning:"))]
    assert len(errors) == 1 and errors[0].startswith("error: "), outcome
    return errors[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_command_refuses_a_hostile_file_in_one_line(corpus_run: dict[str, Any],
                                                          name: str) -> None:
    case = CASES[name]
    for command, outcome in corpus_run["files"][name].items():
        if command == "info" and case.at_run:  # info reads the file, it does not run it
            assert outcome["exit"] == 0 and outcome["traceback"] is None, outcome
            continue
        assert case.message in _one_line_failure(outcome), (command, outcome)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ABSURD_MESSAGES))
def test_absurd_arguments_are_refused_in_one_line(corpus_run: dict[str, Any], name: str) -> None:
    line = _one_line_failure(corpus_run["arguments"][name])
    assert line.startswith(ABSURD_MESSAGES[name]), line


@pytest.mark.slow
def test_odd_but_sound_files_work(corpus_run: dict[str, Any]) -> None:
    for name in ("sound", "static_batch", "static_batch_bare", "sigmoid"):
        for command in ("sample", "walk", "info", "bench", "eval"):
            outcome = corpus_run["files"][name][command]
            assert outcome["exit"] == 0 and outcome["traceback"] is None, (name, command, outcome)
    note = corpus_run["files"]["static_batch"]["sample"]["stderr"]
    assert note.strip() == ("note: the model's graph has a fixed batch of 1: it runs 1 image(s) "
                            "per session run")


@pytest.mark.slow
def test_the_whole_corpus_runs_in_bounded_memory(corpus_run: dict[str, Any]) -> None:
    assert corpus_run["maxrss_kb"] / 1024 < MAX_RSS_MB


def test_absurd_arguments_cover_every_case() -> None:
    assert set(absurd_arguments(Path("m"), Path("o"))) == set(ABSURD_MESSAGES)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(tmp_path_factory.mktemp("api"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_api_raises_only_its_own_errors(files: dict[str, Path], name: str) -> None:
    with pytest.raises(GanEdgeError, match=None) as caught:
        ganedge.load(files[name]).sample(3)
    assert CASES[name].message in str(caught.value)


def test_a_static_batch_is_padded_and_gives_the_same_images(files: dict[str, Path]) -> None:
    fixed, free = ganedge.load(files["static_batch"]), ganedge.load(files["sound"])
    assert fixed.static_batch == 1 and free.static_batch is None
    np.testing.assert_array_equal(fixed.sample(5, batch_size=4), free.sample(5))
    bare = ganedge.load(files["static_batch_bare"], latent_dim=8)
    assert bare.static_batch == 3
    np.testing.assert_array_equal(bare.sample(5), free.sample(5))


def test_nonfinite_output_is_written_only_when_allowed(files: dict[str, Path]) -> None:
    gen = ganedge.load(files["nan_output"], allow_nonfinite=True)
    assert (gen.sample(2) == 0).all()  # NaN → the low end of the range
    pixels = ganedge.load(files["inf_output"], allow_nonfinite=True).sample(2)
    assert set(np.unique(pixels)) == {0, 255}  # tanh · inf is ±inf: the two ends


def test_a_sigmoid_generator_uses_the_whole_pixel_range(files: dict[str, Path]) -> None:
    gen = ganedge.load(files["sigmoid"])
    assert gen.contract.value_range == (0.0, 1.0)
    z = gen.latents(range(4))
    expected = np.clip(np.rint(gen.generate(z) * 255), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(gen.sample(4), expected.transpose(0, 2, 3, 1))
    assert gen.sample(16).min() < 40  # a [-1, 1] reading would never go below ~128


def test_a_billion_seeds_stream_without_a_list(files: dict[str, Path], tmp_path: Path) -> None:
    from tests.ganedge.conftest import invoke

    gen = ganedge.load(files["sound"])
    seeds, images = next(gen.iter_samples(range(10**9), batch_size=4))
    assert seeds == [0, 1, 2, 3] and images.shape == (4, 4, 4, 1)
    result = invoke("sample", str(files["sound"]), "--seeds", "0-999999999", "--shard",
                    "99999999/100000000", "--outdir", str(tmp_path / "d"), "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert "seeds 999999990-999999999" in result.stdout
    assert sorted(p.name for p in (tmp_path / "d").iterdir())[0] == "seed999999990.png"


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".jpg", b"\xff\xd8\xff"),
                                               (".jpeg", b"\xff\xd8\xff"), (".webp", b"RIFF")])
def test_the_output_suffix_names_the_format(files: dict[str, Path], tmp_path: Path,
                                            suffix: str, magic: bytes) -> None:
    from tests.ganedge.conftest import invoke

    out = tmp_path / f"grid{suffix}"
    result = invoke("sample", str(files["sound"]), "-n", "4", "-o", str(out), "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes().startswith(magic)
