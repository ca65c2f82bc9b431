"""The app in docs/embedding.md runs as written and serves the same images as the API."""

from __future__ import annotations

import re
import runpy
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganedge

DOC = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"


def example_code() -> str:
    section = DOC.read_text().split("## A 20-line app", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    app = tmp_path / "app.py"
    app.write_text(example_code())
    handler = runpy.run_path(str(app), run_name="embedded_app")["Handler"]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()
    httpd.server_close()


def fetch(url: str) -> np.ndarray:
    with urllib.request.urlopen(url) as response:
        return np.asarray(Image.open(BytesIO(response.read())))


def test_example_is_about_twenty_lines() -> None:
    code = [line for line in example_code().splitlines() if line.strip()]
    assert len(code) <= 30


def test_embedded_app_serves_seeds_in_parallel(server: str) -> None:
    seeds = list(range(12))
    with ThreadPoolExecutor(max_workers=6) as pool:
        images = list(pool.map(lambda s: fetch(f"{server}/seed/{s}.png?psi=0.7"), seeds))
    expected = ganedge.load().sample(seeds, truncation=0.7)[..., 0]
    np.testing.assert_array_equal(np.stack(images), expected)
    with pytest.raises(urllib.error.HTTPError, match="400"):
        fetch(f"{server}/seed/1.png?psi=3")
