"""A real headless Chromium (the distribution's, at /usr/bin/chromium) driven by Playwright, and a
static server on 127.0.0.1 in a thread: what the browser tests need to open a ganedge site."""

from __future__ import annotations

import base64
import contextlib
import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# No network here: without the background-networking flags Chromium keeps dialling out.
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """The system Chromium, or skip: CI installs it (.ci/run); a dev machine may not have it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                                      "(pip install -e '.[dev]')")
    return path


class QuietHandler(SimpleHTTPRequestHandler):
    """A static file handler that keeps its access log out of the test output."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".wasm": "application/wasm"}

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (a free port) from a thread; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler,
                                                                     directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


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
