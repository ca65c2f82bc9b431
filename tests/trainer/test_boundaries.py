"""trainer/ never imports exports/ or the CLI: every import of every module, top-level or inside a
function, read from the source (a lazy import would slip past a test that only imports)."""

from __future__ import annotations

import ast
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[2] / "trainer"
FORBIDDEN = ("exports", "ganedge.cli")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            names |= {a.value for a in node.args[:1] if isinstance(a, ast.Constant)}
    return names


def test_trainer_never_imports_the_exporter_or_the_cli() -> None:
    modules = sorted(TRAINER.rglob("*.py"))
    assert len(modules) > 10 and TRAINER / "callbacks.py" in modules
    crossing = {f"{path.relative_to(TRAINER.parent)}: {name}" for path in modules
                for name in _imports(path)
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not crossing


def test_the_check_sees_function_local_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from exports.checkpoint import export_checkpoint\n")
    assert "exports.checkpoint" in _imports(module)
