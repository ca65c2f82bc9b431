"""Bulk generation on Ray Data (ganedge.ray.generate, `ganedge bulk`) on one local cluster of two
CPUs: the same bytes as `ganedge sample --outdir`, resumed after a kill, shards read back."""

from __future__ import annotations

import io
import json
import os
import socket
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganedge
import ganedge.ray
from ganedge.errors import InputError
from tests.e2e.stylegan_graph import tiny_stylegan
from tests.ganedge.conftest import invoke

ray = pytest.importorskip("ray")  # importing ganedge.ray does not import Ray; its calls do


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    """One local cluster for the module (Ray takes seconds to start)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _reference(tmp_path: Path, model: Path | None, seeds: str, *args: str) -> Path:
    out = tmp_path / "reference"
    result = invoke("sample", *([str(model)] if model else []), "--seeds", seeds, "--outdir",
                    str(out), "-q", *args)
    assert result.exit_code == 0, result.stderr
    return out


def _pngs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.png"))}


def test_pngs_are_the_bytes_of_ganedge_sample_and_a_rerun_after_a_kill_fills_the_gaps(
        tmp_path: Path) -> None:
    reference = _pngs(_reference(tmp_path, None, "0-40,1000-1004", "--truncation", "0.7"))
    seeds, out = [*range(41), *range(1000, 1005)], tmp_path / "out"  # runs of 16, last padded
    first = ganedge.ray.generate(None, seeds, out, batch_size=16, truncation=0.7, workers=2)
    assert (first.images, first.written, first.skipped) == (46, 46, 0)
    assert _pngs(out) == reference and len(reference) == 46
    # a kill: two finished images gone, and a worker's half-written temporary left behind
    for seed in (3, 1002):
        (out / f"seed{seed:04d}.png").unlink()
    host = f"{zlib.crc32(socket.gethostname().encode()):08x}"
    stale = out / f".seed1002.png.{host}-{_dead_pid()}-0badf00d.tmp"
    stale.write_bytes(reference["seed1002.png"][:50])
    again = ganedge.ray.generate(None, seeds, out, batch_size=16, truncation=0.7, workers=1)
    assert (again.written, again.skipped) == (2, 44)
    assert _pngs(out) == reference and not stale.exists()
    with pytest.raises(InputError) as caught:  # another ψ would mix two runs' images
        ganedge.ray.generate(None, seeds, out, batch_size=16, truncation=0.6)
    assert str(caught.value) == (
        f"outdir: {str(out)!r} holds another run's outputs (_ganedge-run.json differs in "
        "truncation): choose a new folder, or repeat that run's arguments to resume it")


def test_stylegan_pngs_truncate_in_w_as_ganedge_sample_does(tmp_path: Path) -> None:
    model = tiny_stylegan(tmp_path / "sg.onnx")
    reference = _pngs(_reference(tmp_path, model, "5-14", "--truncation", "0.6"))
    ganedge.ray.generate(model, range(5, 15), tmp_path / "out", batch_size=4, truncation=0.6,
                         workers=1)
    assert _pngs(tmp_path / "out") == reference and len(reference) == 10


def test_parquet_shards_hold_the_same_pngs_and_resume_per_shard(tmp_path: Path,
                                                                models: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    seeds = list(range(100, 125))
    ganedge.ray.generate(models["cond"], seeds, out, format="parquet", shard_size=10,
                         batch_size=4, label=2, workers=1)
    shards = sorted(out.glob("shard-*.parquet"))
    assert [p.name for p in shards] == [f"shard-00000{i}.parquet" for i in range(3)]
    table = pq.read_table(out)  # the folder reads as one table
    assert table.column("seed").to_pylist() == seeds
    assert set(table.column("label").to_pylist()) == {2}
    pixels = np.stack([np.asarray(Image.open(io.BytesIO(b)))
                       for b in table.column("png").to_pylist()])
    assert (pixels == ganedge.load(models["cond"]).sample(seeds, labels=2)).all()
    shards[1].unlink()
    again = ganedge.ray.generate(models["cond"], seeds, out, format="parquet", shard_size=10,
                                 batch_size=4, label=2, workers=1)
    assert (again.written, again.skipped) == (10, 15)
    assert pq.read_table(out).equals(table)


def test_bulk_cli_writes_webdataset_shards_that_read_back(tmp_path: Path,
                                                          models: dict[str, Path]) -> None:
    out = tmp_path / "wds"
    result = invoke("bulk", str(models["cond"]), "--seeds", "0-6", "--outdir", str(out),
                    "--format", "webdataset", "--shard-size", "4", "--batch-size", "3",
                    "--workers", "1", "--json", "--no-progress")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["images"], report["written"], report["skipped"]) == (7, 7, 0)
    members: dict[str, bytes] = {}
    for shard in sorted(out.glob("shard-*.tar")):
        with tarfile.open(shard) as tar:
            members.update({m.name: tar.extractfile(m).read() for m in tar.getmembers()})
    reference = _pngs(_reference(tmp_path, models["cond"], "0-6"))
    assert {k: v for k, v in members.items() if k.endswith(".png")} == reference
    assert json.loads(members["seed0005.json"]) == {"seed": 5, "label": 5 % 3}
    assert members["seed0005.cls"] == b"2"


def test_bulk_cli_bad_input_is_one_line_before_any_work(tmp_path: Path) -> None:
    result = invoke("bulk", "--seeds", "0-9", "--outdir", str(tmp_path / "o"), "--workers", "0")
    assert (result.exit_code, result.stderr) == (
        2, "error: --workers: must be at least 1 (got 0)\n")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("options", "flag", "message"), [
    ({"num_gpus": 64}, "--gpus-per-worker", "64 GPU(s) per worker, but no node of the Ray "
     "cluster has that many (at most {gpus}): ask for fewer, or join a cluster that has them "
     "(--address)"),
    ({"num_cpus": 3}, "--cpus-per-worker", "3 CPU(s) per worker, but no node of the Ray cluster "
     "has that many (at most 2): ask for fewer, or join a cluster that has them (--address)"),
])
def test_workers_the_cluster_cannot_place_are_one_line_and_write_nothing(
        tmp_path: Path, options: dict[str, float], flag: str, message: str) -> None:
    gpus = f"{ray.cluster_resources().get('GPU', 0):g}"
    args = [flag, f"{next(iter(options.values()))}"]
    result = invoke("bulk", "--seeds", "0-3", "--outdir", str(tmp_path / "o"), *args)
    assert (result.exit_code, result.stderr) == (2, f"error: {flag}: {message.format(gpus=gpus)}\n")
    assert not (tmp_path / "o").exists()  # Ray would have waited for them without end


def test_replicas_the_cluster_cannot_hold_at_once_are_refused_before_deploying() -> None:
    from ganedge.ray import ServeConfig, build_app
    from ganedge.runtime.model import default_model_path

    with pytest.raises(InputError) as caught:
        build_app(ServeConfig(model=str(default_model_path()), replicas=3, num_cpus=1.0))
    assert str(caught.value) == ("num_cpus: 3 replicas × 1 CPU(s) need 3, but the Ray cluster "
                                 "has 2: ask for fewer replicas or fewer CPU(s) per replica")


def test_fewer_units_than_workers_start_fewer_workers(tmp_path: Path) -> None:
    report = ganedge.ray.generate(None, range(5), tmp_path / "o", batch_size=8, workers=2)
    assert (report.written, report.workers) == (5, 1)  # one unit of work: one worker


def _dead_pid() -> int:
    """A process id that no process holds now."""
    pid = os.getpid() + 1
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1
