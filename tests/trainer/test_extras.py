"""The optional extras (lightning, tensorboard) install beside the pinned CPU torch, not over it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _torch_pin() -> str:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    pins = [re.fullmatch(r"torch==(\S+)", req) for req in extras["train"]]
    return next(pin.group(1) for pin in pins if pin)


@pytest.mark.parametrize("extra", ["lightning", "tensorboard"])
def test_extra_keeps_the_pinned_torch(extra: str) -> None:
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert "ganedge[train]" in extras[extra]  # the torch pin comes with every torch-side extra
    try:
        metadata.version(extra)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{extra} is not installed here")
    # the public version without the local tag: 2.13.0+cpu is the pinned CPU wheel
    assert metadata.version("torch").split("+")[0] == _torch_pin()
