"""``-q`` means nothing but errors on every command: no progress, no result line, and none of the
``warning: …`` / ``note: …`` lines a model or an option would otherwise give, on either stream."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

import ganedge
from ganedge.cli import COMMANDS
from tests.e2e.stylegan_graph import tiny_stylegan
from tests.ganedge.conftest import invoke
from tests.ganedge.hostile import LATENT, SIZE, Graph, build

# (files) → the command line; the model is one that makes the command warn or note something
# without -q: a graph with a fixed batch ("note: … fixed batch"), CUDA asked for where the session
# may run on the CPU ("warning: asked for CUDAExecutionProvider …")
Args = Callable[[dict[str, Path]], list[str]]
CASES: dict[str, Args] = {
    "train": lambda f: ["train", "-o", str(f["out"] / "run"), "--steps", "1", "--batch-size", "4",
                        "--sample-every", "1000"],
    "export": lambda f: ["export", str(f["ckpt"]), "-o", str(f["out"] / "m.onnx")],
    "convert": lambda f: ["convert", str(f["static"]), "--to", "ort",
                          "-o", str(f["out"] / "m.ort")],
    "sample": lambda f: ["sample", str(f["static"]), "-n", "2", "-o", str(f["out"] / "s.png"),
                         "--provider", "cuda"],
    "walk": lambda f: ["walk", str(f["static"]), "--frames", "2", "-o", str(f["out"] / "w.gif"),
                       "--provider", "cuda"],
    "mix": lambda f: ["mix", str(f["stylegan"]), "--rows", "0", "--cols", "1", "--styles", "0-1",
                      "-o", str(f["out"] / "mix.png"), "--provider", "cuda"],
    "web": lambda f: ["web", str(f["static"]), "-o", str(f["out"] / "site")],
    "info": lambda f: ["info", str(f["static"]), "--provider", "cuda"],
    "env": lambda f: ["env"],
    "bench": lambda f: ["bench", str(f["static"]), "--batch", "1", "--budget", "0.01"],
    "eval": lambda f: ["eval", str(f["static"]), "-n", "8", "--provider", "cuda"],
    "triton": lambda f: ["triton", str(f["static"]), "-o", str(f["out"] / "repo")],
    "bulk": lambda f: ["bulk", str(f["static"]), "--seeds", "0-3", "--outdir", str(f["out"] / "b"),
                       "--workers", "1"],
}
# the commands whose case above warns or notes without -q: always (a fixed batch), or where CUDA
# does not run; the others have nothing to warn about in a sound run
ALWAYS_WARN = {"sample", "walk", "info", "bench"}
WARN_WITHOUT_CUDA = {"mix", "eval"}


def _cuda_runs(model: Path) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return ganedge.load(model, provider="cuda").providers[0] == "CUDAExecutionProvider"


@pytest.fixture()
def files(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Path]:
    found = {"static": build(tmp_path / "static.onnx",
                             Graph(z_dims=(1, LATENT), out_dims=(1, 1, SIZE, SIZE))),
             "stylegan": tiny_stylegan(tmp_path / "sg.onnx")}
    if "export" in request.node.name:
        found["ckpt"] = request.getfixturevalue("trained_run") / "ckpt.pt"
    return found


def test_every_command_with_quiet_has_a_case() -> None:
    with_quiet = {name for name in COMMANDS if "--quiet" in invoke(name, "-h").stdout}
    # serve runs until it is stopped: tests/ganedge/test_serve.py starts and stops it
    assert with_quiet - {"serve"} == set(CASES)


@pytest.mark.parametrize("command", [pytest.param(name, marks=pytest.mark.slow)
                                     if name in ("train", "export") else name for name in CASES])
def test_quiet_prints_nothing(command: str, files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "quiet").mkdir()
    quiet = invoke(*CASES[command]({**files, "out": tmp_path / "quiet"}), "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    if command in ALWAYS_WARN or (command in WARN_WITHOUT_CUDA
                                  and not _cuda_runs(files["stylegan"])):
        # the same command line without -q does warn: what -q silenced was really there
        (tmp_path / "loud").mkdir()
        loud = invoke(*CASES[command]({**files, "out": tmp_path / "loud"}))
        assert loud.exit_code == 0, loud.stderr
        assert "warning: " in loud.stderr or "note: " in loud.stderr, loud.stderr
