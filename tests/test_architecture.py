"""The import rules of ARCHITECTURE.md, read from every module's source with ``ast``: the runtime
loads without the torch side, the trainer never reaches the exporter or the CLI, and the lazy
imports are the documented ones."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganedge.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
# what `import ganedge` and every command but train/export must load without
TORCH_SIDE = ("torch", "torchvision", "onnx", "lightning", "pytorch_lightning", "accelerate",
              "tensorboard", "trainer", "exports")
# the commands whose modules import the torch side at their top: loaded only through COMMANDS
TORCH_COMMANDS = ("train", "export")
# runtime modules that import the torch side at their top, each loaded only inside a function
LAZY_MODULES = {
    "ganedge/triton/split.py",  # onnx: splits a StyleGAN file; loaded by write_repository
}
# imports of the torch side inside a function of the runtime, each documented where it is
LAZY = {
    "ganedge/cli/common.py": {"torch", "onnx"},  # require_torch: says which extra is missing
    "ganedge/cli/train.py": {"torch"},  # --threads
    "ganedge/cli/bench.py": {"exports"},  # --compare-torch: exports.torch_candidates
    "ganedge/bench/graphstats.py": {"onnx"},  # FLOP counts from the graph, bench only
    "ganedge/triton/__init__.py": {"onnx"},  # StyleGAN split: names the extra when missing
}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imports(path: Path, *, inside_functions: bool) -> Iterator[str]:
    """Every module name ``path`` imports at its top (or, with ``inside_functions``, inside a
    function); ``from a import b`` yields both ``a`` and ``a.b``."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])

    def walk(node: ast.AST, in_function: bool) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if nested == inside_functions and isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif nested == inside_functions and isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: resolved against this module's package
                    parent = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join([*parent, *([base] if base else [])])
                yield base
                yield from (f"{base}.{alias.name}" for alias in child.names)
            yield from walk(child, nested)

    return walk(ast.parse(path.read_text(encoding="utf-8")), False)


def hits(names: Iterator[str], banned: tuple[str, ...]) -> set[str]:
    return {b for name in names for b in banned if name == b or name.startswith(b + ".")}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def command_module(name: str) -> str:
    return COMMANDS[name][0].replace(".", "/") + ".py"


def test_the_runtime_loads_without_the_torch_side() -> None:
    allowed = {command_module(name) for name in TORCH_COMMANDS} | LAZY_MODULES
    found = {rel(p): hits(imports(p, inside_functions=False), TORCH_SIDE)
             for p in modules("ganedge") if rel(p) not in allowed}
    assert {path: names for path, names in found.items() if names} == {}


def test_lazy_imports_of_the_torch_side_are_the_documented_ones() -> None:
    found = {rel(p): hits(imports(p, inside_functions=True), TORCH_SIDE)
             for p in modules("ganedge")}
    assert {path: names for path, names in found.items() if names} == LAZY


def test_the_torch_commands_load_only_through_the_command_table() -> None:
    lazy = tuple(COMMANDS[name][0] for name in TORCH_COMMANDS)
    for package in ("ganedge", "trainer", "exports", "benchmarks", "scripts"):
        for path in modules(package):
            for inside in (False, True):
                assert not hits(imports(path, inside_functions=inside), lazy), rel(path)


@pytest.mark.parametrize(("package", "banned"), [
    ("trainer", ("exports", "ganedge.cli", "benchmarks", "tests")),
    ("exports", ("ganedge.cli", "benchmarks", "tests")),
    ("ganedge", ("benchmarks", "tests")),
    ("benchmarks", ("tests",)),
    # the library under the CLI: only ganedge/cli/ prints, and nothing below it reaches up
    *((f"ganedge/{sub}", ("ganedge.cli",)) for sub in ("runtime", "sampling", "io", "bench",
                                                       "evaluation", "web", "ray", "triton")),
])
def test_imports_point_one_way(package: str, banned: tuple[str, ...]) -> None:
    found = {rel(p): hits(imports(p, inside_functions=inside), banned)
             for p in modules(package) for inside in (False, True)}
    assert {path: names for path, names in found.items() if names} == {}


def test_the_rules_see_a_violation() -> None:
    probe = ROOT / "ganedge" / "cli" / "common.py"
    assert hits(imports(probe, inside_functions=True), TORCH_SIDE) == {"torch", "onnx"}
    assert hits(imports(probe, inside_functions=False), TORCH_SIDE) == set()
    train = ROOT / command_module("train")
    assert "trainer" in hits(imports(train, inside_functions=False), TORCH_SIDE)
