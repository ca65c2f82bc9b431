"""The README is the front door: every page under docs/ is linked from it, it stays short, and
the Python in docs/evaluation.md runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def links(page: Path) -> set[str]:
    """The relative link targets of a Markdown page, without #anchors."""
    found = re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8"))
    return {t.split("#")[0] for t in found if not t.startswith(("http://", "https://", "#"))}


def test_every_docs_page_is_linked_from_the_readme() -> None:
    pages = {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")}
    assert pages - links(README) == set()


def test_the_readme_front_door_files_exist_and_it_is_short() -> None:
    for name in ("LICENSE", "THIRD_PARTY.md", "CHANGELOG.md", "ARCHITECTURE.md"):
        assert name in links(README) and (ROOT / name).is_file(), name
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def test_docs_speak_of_the_software() -> None:
    for page in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b(this|last|earlier|previous) sessions?\b|\bs[345]\b|"
                             r"\bthe issue'?s?\b", text, re.I), page.name


@pytest.mark.slow
def test_the_evaluation_example_runs() -> None:
    page = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    code = re.search(r"## In Python\n\n```python\n(.*?)```", page, re.S).group(1)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/evaluation.md", "exec"), {})  # noqa: S102 - our own docs
    assert printed.getvalue().count("real-vs-real") == 2
