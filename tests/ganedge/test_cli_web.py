"""`ganedge web`: a self-contained site folder, written whole or not at all."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from ganedge.contract import ModelContract
from ganedge.runtime.model import default_model_path
from ganedge.web import build_site
from tests.ganedge.conftest import invoke

SITE_FILES = {"index.html", "app.mjs", "latents.mjs", "ziggurat.mjs", "style.css", "contract.json",
              "model.onnx", "ort"}
RUNTIME_FILES = {"ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
                 "ort-wasm-simd-threaded.asyncify.wasm", "LICENSE", "VERSION"}


def test_site_holds_page_model_contract_and_runtime(tmp_path: Path) -> None:
    result = invoke("web", "-o", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    assert {p.name for p in site.iterdir()} == SITE_FILES
    assert {p.name for p in (site / "ort").iterdir()} == RUNTIME_FILES
    assert (site / "model.onnx").read_bytes() == default_model_path().read_bytes()
    carried = json.loads((site / "contract.json").read_text())
    assert carried["model"] == "model.onnx"
    assert ModelContract.from_metadata(carried["metadata"]).latent_dim == 64
    assert "python -m http.server -d" in result.stdout
    # the page refers only to files inside the site: no CDN, no absolute URL
    page = (site / "index.html").read_text() + (site / "app.mjs").read_text()
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page


def test_json_report_and_quiet(tmp_path: Path) -> None:
    result = invoke("web", str(default_model_path()), "-o", str(tmp_path / "s"), "--json")
    report = json.loads(result.stdout)
    assert report["sizes"]["model"] == default_model_path().stat().st_size
    assert report["total_bytes"] == sum(report["sizes"].values())
    quiet = invoke("web", "-o", str(tmp_path / "s"), "-q")  # an old site is replaced
    assert quiet.exit_code == 0 and quiet.stdout == ""


def test_refuses_a_folder_that_is_not_a_site(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = invoke("web", "-o", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: --output: {str(tmp_path)!r} is not empty and holds "
                                     "no ganedge site: give a new or empty folder")
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_bad_model_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    result = invoke("web", str(bad), "-o", str(tmp_path / "site"))
    assert result.exit_code != 0 and result.stderr.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]


def test_site_files_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        site = build_site(None, tmp_path / "site").path
    finally:
        os.umask(old)
    assert stat.S_IMODE(site.stat().st_mode) == 0o750
    assert stat.S_IMODE((site / "model.onnx").stat().st_mode) == 0o640
