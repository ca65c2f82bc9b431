"""A real headless Chromium (the distribution's, at /usr/bin/chromium) driven by Playwright, and a
static server on 127.0.0.1 in a thread (the benchmark's own, benchmarks/chromium.py): what the
browser tests need to open a ganedge site."""

from __future__ import annotations

import base64
import shutil
from typing import Any

import numpy as np
import pytest

from benchmarks.chromium import CHROMIUM_FLAGS, serve

__all__ = ["CHROMIUM_FLAGS", "SitePage", "assert_same_pixels", "chromium_path", "serve"]

def chromium_path() -> str:
    """The system Chromium, or skip: CI installs it (.ci/run); a dev machine may not have it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                                      "(pip install -e '.[dev]')")
    return path


class SitePage:
    """One opened site: its test hook (window.ganedge) and everything the console said."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.console: list[tuple[str, str]] = []
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))

    def open(self, url: str) -> dict[str, Any]:
        self.page.goto(url)
        self.page.wait_for_function("window.ganedge !== undefined")
        return self.page.evaluate("window.ganedge.ready")

    def errors(self) -> list[tuple[str, str]]:
        return [(kind, text) for kind, text in self.console if kind in ("error", "pageerror")]

    def sample(self, seeds: list[int], **options: Any) -> np.ndarray:
        return self._images("window.ganedge.sample(a.seeds, a.options)",
                            {"seeds": seeds, "options": options})

    def generate(self, z: np.ndarray, **options: Any) -> np.ndarray:
        return self._images("window.ganedge.generate(a.z, a.batch, a.options)",
                            {"z": z.ravel().tolist(), "batch": len(z), "options": options})

    def _images(self, call: str, arg: dict[str, Any]) -> np.ndarray:
        # pixels cross as base64: a JSON list of numbers is slow for 64×64 RGB batches
        h, w, c, data = self.page.evaluate(f"""async (a) => {{
            const r = await {call};
            let s = '';
            for (let i = 0; i < r.data.length; i += 32768) {{
              s += String.fromCharCode.apply(null, r.data.subarray(i, i + 32768));
            }}
            return [r.height, r.width, r.channels, btoa(s)]; }}""", arg)
        return np.frombuffer(base64.b64decode(data), np.uint8).reshape(-1, h, w, c)


def assert_same_pixels(browser: np.ndarray, python: np.ndarray) -> None:
    """At most one 8-bit level apart anywhere, and at least 99.9% of the values exact."""
    assert browser.shape == python.shape
    diff = np.abs(browser.astype(np.int16) - python.astype(np.int16))
    assert diff.max() <= 1, f"max difference {diff.max()} levels"
    assert (diff == 0).mean() >= 0.999, f"only {(diff == 0).mean():.4%} exact"
