"""Start-up: each command imports only what it needs (no timing: which modules got loaded)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from ganedge.cli import COMMANDS, summary
from tests.ganedge.conftest import invoke

# pydantic: typer 0.29 validates each parameter through it, a third of `sample`'s start-up
HEAVY = ("numpy", "onnxruntime", "torch", "rich", "PIL", "pydantic")

PROBE = """
import sys
from typer.testing import CliRunner
from ganedge.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print(" ".join(m for m in {heavy!r} if m in sys.modules))
"""


def _loaded_by(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
                            capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_help_loads_no_numerical_library() -> None:
    assert _loaded_by("--help") == set()


def test_sample_loads_the_runtime_but_not_torch_or_rich(tmp_path: Path) -> None:
    loaded = _loaded_by("sample", "-n", "1", "-o", str(tmp_path / "one.png"))
    assert {"numpy", "onnxruntime"} <= loaded and not {"torch", "rich", "pydantic"} & loaded


def test_help_lists_every_command_with_its_own_docstring() -> None:
    out = invoke("--help").stdout
    for name, (module, function) in COMMANDS.items():
        doc = getattr(importlib.import_module(module), function).__doc__
        assert summary(name) == " ".join(doc.split("\n\n")[0].split())
        assert f"  {name} " in out
