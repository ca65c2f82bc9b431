"""``ganedge sample`` through the CLI: files, grids, shards, and every bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganedge
from tests.conftest import run_cli
from tests.ganedge.conftest import invoke


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


def test_outdir_holds_one_png_per_seed_equal_to_the_api(models: dict[str, Path],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "imgs"
    result = invoke("sample", str(models["float"]), "--seeds", "0-5,42,7", "--outdir", str(out),
                    "--batch-size", "3", "--truncation", "0.7")
    assert result.exit_code == 0, result.stderr
    assert "8 images, seeds 0-5,42,7, ψ 0.7" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"seed{s:04d}.png" for s in [0, 1, 2, 3, 4, 5, 42, 7])
    expected = ganedge.load(models["float"]).sample([42], truncation=0.7)[0, ..., 0]
    np.testing.assert_array_equal(pixels(out / "seed0042.png"), expected)
    with Image.open(out / "seed0042.png") as img:
        assert img.text == {"ganedge.seed": "42", "ganedge.truncation": "0.7",
                            "ganedge.model": "float.onnx",
                            "ganedge.model_sha256": hashlib.sha256(
                                models["float"].read_bytes()).hexdigest()[:12]}
    assert not list(tmp_path.glob("*.png")), "no grid unless -o is given with --outdir"


def test_grid_and_files_are_the_same_whatever_the_batch_size(models: dict[str, Path],
                                                             tmp_path: Path) -> None:
    for batch in ("1", "7", "64"):
        invoke("sample", str(models["cond"]), "-n", "20", "--batch-size", batch, "--scale", "1",
               "-o", str(tmp_path / f"grid{batch}.png"), "--outdir", str(tmp_path / batch))
    grids = {(tmp_path / f"grid{b}.png").read_bytes() for b in ("1", "7", "64")}
    assert len(grids) == 1
    assert pixels(tmp_path / "grid7.png").shape == (4 * 8 + 2, 5 * 8 + 2, 3)  # 4×5 cells of 6 px
    for name in ("seed0000.png", "seed0019.png"):
        assert len({(tmp_path / b / name).read_bytes() for b in ("1", "7", "64")}) == 1


def test_shards_split_the_seeds_without_overlap(models: dict[str, Path], tmp_path: Path) -> None:
    for i in range(3):
        result = invoke("sample", str(models["float"]), "--seeds", "10-19",
                        "--shard", f"{i}/3", "--outdir", str(tmp_path / "all"))
        assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names == [f"seed{s:04d}.png" for s in range(10, 20)]


def test_uint8_model_through_the_cli(models: dict[str, Path], tmp_path: Path) -> None:
    for name in ("float", "uint8"):
        invoke("sample", str(models[name]), "-n", "9", "-o", str(tmp_path / f"{name}.png"))
    assert (tmp_path / "float.png").read_bytes() == (tmp_path / "uint8.png").read_bytes()


def test_third_party_model_runs_with_latent_dim(models: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("sample", str(models["bare"]), "-n", "4", "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 1
    assert "no ganedge contract" in result.stderr and "--latent-dim" in result.stderr
    result = invoke("sample", str(models["bare"]), "--latent-dim", "8", "-n", "4",
                    "-o", str(tmp_path / "x.png"))
    assert result.exit_code == 0 and (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("model", "args", "code", "message"), [
    ("float", ["-n", "0"], 2, "error: -n: must be at least 1 (got 0)"),
    ("float", ["--seeds", "1-x"], 2, "error: --seeds: '1-x' is not a seed or range"),
    ("float", ["--seeds", "9-3"], 2, "error: --seeds: range '9-3' must be ascending"),
    ("float", ["-n", "3", "--seeds", "1"], 2, "error: --seeds: give a count or seeds, not both"),
    ("float", ["--truncation", "1.5"], 2, "error: --truncation: ψ must be in [0, 1] (got 1.5)"),
    ("float", ["--psi", "-0.2"], 2, "error: --truncation: ψ must be in [0, 1] (got -0.2)"),
    ("float", ["--label", "1"], 2, "error: --label: this model is unconditional"),
    ("cond", ["--label", "3"], 2, "error: --label: must be in [0, 2] (got 3)"),
    ("float", ["--batch-size", "0"], 2, "error: --batch-size: must be at least 1 (got 0)"),
    ("float", ["--shard", "3/3"], 2, "error: --shard: needs 0 <= i < N (got '3/3')"),
    ("float", ["--shard", "half"], 2, "error: --shard: 'half' is not i/N"),
    ("float", ["-n", "5000"], 2, "error: --output: a grid of 5,000 images is too large"),
    ("float", ["--provider", "npu"], 2, "error: Invalid value for '--provider'"),
    ("float", ["--threads", "0"], 2, "error: --threads: must be at least 1 (got 0)"),
    ("bare", [], 1, "error: --latent-dim: not given, and the model has no ganedge contract"),
    ("missing", [], 2, "error: MODEL: "),
])
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
        models: dict[str, Path], tmp_path: Path, model: str, args: list[str], code: int,
        message: str) -> None:
    path = models.get(model, tmp_path / "missing.onnx")
    out = tmp_path / "out"
    out.mkdir()
    result = invoke("sample", str(path), *args, "-o", str(out / "grid.png"),
                    "--outdir", str(out / "imgs"))
    assert result.exit_code == code
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == "" and list(out.iterdir()) == []


def test_unwritable_outputs_fail_before_writing(models: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("sample", str(models["float"]), "-o", str(tmp_path / "no" / "grid.png"))
    assert result.exit_code == 2 and result.stderr.startswith("error: --output: folder ")
    (tmp_path / "file").write_text("x")
    result = invoke("sample", str(models["float"]), "-o", str(tmp_path / "grid.png"),
                    "--outdir", str(tmp_path / "file"))
    assert result.exit_code == 2 and "--outdir: " in result.stderr and "is a file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_default_model_with_no_argument(tmp_path: Path) -> None:
    result = run_cli("sample", "-n", "64", "-o", str(tmp_path / "s.png"))
    assert "64 images, seeds 0-63" in result.stdout
    # 32-pixel images enlarged to 64 in an 8×8 grid with 2-pixel gaps
    assert pixels(tmp_path / "s.png").shape == (8 * 66 + 2, 8 * 66 + 2)


def test_progress_lines_when_not_on_a_terminal(models: dict[str, Path], tmp_path: Path) -> None:
    # CliRunner's output is not a terminal, as with a log file: a line per 10% of the images
    result = invoke("sample", str(models["float"]), "-n", "20", "--batch-size", "2",
                    "--outdir", str(tmp_path / "imgs"))
    progress = [line for line in result.stdout.splitlines() if line.startswith("sample: ")]
    assert [line.split(" (")[0] for line in progress] == [
        f"sample: {n}/20 images" for n in range(2, 21, 2)]
    assert all(" images/s" in line for line in progress)
    # the first line has no ETA yet (its rate includes the start); the last one says how long
    # (when ETAs appear, on a clock: tests/ganedge/test_progress.py)
    assert ", ETA " not in progress[0]
    assert progress[-1].split(", ")[-1].startswith("took ")
    quiet = invoke("sample", str(models["float"]), "-n", "4", "--outdir", str(tmp_path / "q"),
                   "--no-progress")
    assert quiet.stdout.startswith("wrote "), "--no-progress: the result line only"
