"""The container recipes, read as text (building them needs a network and a Docker daemon, which
the test machine does not have): each starts FROM a base image, runs ``ganedge``, copies only
files that exist and are not ignored, and installs extras that pyproject.toml defines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("Dockerfile", "Dockerfile.cuda")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in path.read_text().splitlines()
                                          if not line.lstrip().startswith("#")))
    return [(word.upper(), rest.strip()) for word, _, rest in
            (line.strip().partition(" ") for line in joined.splitlines() if line.strip())]


def extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_starts_from_a_base_and_runs_ganedge(name: str) -> None:
    steps = instructions(ROOT / name)
    assert steps[0][0] == "FROM" and ":" in steps[0][1], "a tagged base image first"
    entry = [args for kind, args in steps if kind == "ENTRYPOINT"]
    assert [json.loads(e) for e in entry] == [["ganedge"]]


@pytest.mark.parametrize("name", RECIPES)
def test_every_copied_path_exists_and_is_not_ignored(name: str) -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for kind, args in instructions(ROOT / name):
        if kind == "COPY":
            *sources, _ = [a for a in args.split() if not a.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"{name}: COPY {source}"
                assert source not in ignored, f"{name}: COPY {source} is in .dockerignore"


@pytest.mark.parametrize("name", RECIPES)
def test_pip_installs_real_extras_of_the_copied_project(name: str) -> None:
    installs = [args for kind, args in instructions(ROOT / name)
                if kind == "RUN" and "pip install" in args]
    assert installs, f"{name} installs ganedge"
    named = {extra for line in installs for group in re.findall(r"\.\[([\w,-]+)\]", line)
             for extra in group.split(",")}
    assert named and named <= extras(), f"{name}: extras {named - extras()} not in pyproject"


def test_cpu_recipe_takes_the_cpu_torch_and_cuda_recipe_the_gpu_runtime() -> None:
    cpu = " ".join(args for _, args in instructions(ROOT / "Dockerfile"))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in cpu
    cuda = instructions(ROOT / "Dockerfile.cuda")
    assert cuda[0][1].startswith("nvidia/cuda:") and "cudnn-runtime" in cuda[0][1]
    assert "onnxruntime-gpu" in " ".join(args for kind, args in cuda if kind == "RUN")
