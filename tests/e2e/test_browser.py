"""`ganedge web` sites in a real headless Chromium: seed N gives Python's image, byte for byte up
to one level, for the bundled digits model, a 64×64 RGB DCGAN and a conditional .ort model."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import ganedge
from ganedge.io.imaging import make_grid
from ganedge.web import build_site
from tests.conftest import run_cli
from tests.e2e.browser import CHROMIUM_FLAGS, SitePage, assert_same_pixels, chromium_path, serve

SEEDS = list(range(16))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def rgb64_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh (untrained) 64×64 RGB DCGAN exported through the trainer and exporter APIs."""
    import torch

    from exports import export_generator
    from trainer.config import ArchConfig
    from trainer.models.dcgan import dcgan_generator

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("rgb64") / "rgb64.onnx"
    generator = dcgan_generator(ArchConfig(channels=3, image_size=64, base_channels=8))
    export_generator(generator, path, latent_dim=64, optimize=False)
    return path


@contextlib.contextmanager
def open_site(browser: Any, model: Path | None, tmp_path: Path, cli: bool = False
              ) -> Iterator[SitePage]:
    """Build the model's site (through the real CLI when ``cli``), serve it and open it."""
    site = tmp_path / "site"
    if cli:
        run_cli("web", *([str(model)] if model else []), "-o", str(site), "-q")
    else:
        build_site(model, site)
    with serve(site) as url:
        page = SitePage(browser.new_page())
        info = page.open(url)
        assert info["backend"] == "wasm"  # headless, GPU off: the CPU fallback
        yield page
        page.page.close()


@pytest.fixture(scope="module")
def digits_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SitePage]:
    """The bundled model's site, opened once for the tests that look at it."""
    with open_site(browser, None, tmp_path_factory.mktemp("digits"), cli=True) as page:
        yield page


def check_against_python(page: SitePage, gen: ganedge.GeneratorModel) -> None:
    assert_same_pixels(page.sample(SEEDS), gen.sample(SEEDS))
    assert_same_pixels(page.sample(SEEDS, truncation=0.7), gen.sample(SEEDS, truncation=0.7))
    z = gen.latents([3, 1000, 2**40 + 5])
    assert_same_pixels(page.generate(z), gen.images(z))
    assert page.errors() == []


def test_bundled_model_in_the_browser_matches_python(digits_page: SitePage,
                                                     tmp_path: Path) -> None:
    page = digits_page
    check_against_python(page, ganedge.load())
    status = page.page.inner_text("#status")
    assert status.startswith("backend: wasm") and "ms per image" in status
    shot = Path(os.environ.get("GANEDGE_ARTIFACTS", tmp_path)) / "web-digits.png"
    page.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_page_renders_downloads_and_walks(digits_page: SitePage, tmp_path: Path) -> None:
    page = digits_page
    page.page.fill("#seeds", "3-11")  # after the screenshot above, which shows the page as loaded
    page.page.click("#render")
    with page.page.expect_download() as download:
        page.page.click("#download")
    download.value.save_as(tmp_path / "grid.png")
    expected = make_grid(ganedge.load().sample(range(3, 12)))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "grid.png"))[..., 0],
                                  expected[..., 0])
    page.page.click("#play")
    page.page.wait_for_function("window.ganedge.framesShown >= 3")
    page.page.click("#play")
    assert page.errors() == []


def test_rgb64_model_in_the_browser_matches_python(browser: Any, rgb64_model: Path,
                                                   tmp_path: Path) -> None:
    with open_site(browser, rgb64_model, tmp_path) as page:
        check_against_python(page, ganedge.load(rgb64_model))


def test_conditional_ort_model_takes_labels_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from ganedge.runtime.convert import convert_to_ort
    from tests.ganedge.graphs import tiny_generator

    onnx_model = tiny_generator(tmp_path / "cond.onnx", num_classes=3, channels=3, size=6)
    model = convert_to_ort(onnx_model).path  # the ORT format runs in the browser too
    gen = ganedge.load(model)
    with open_site(browser, model, tmp_path) as page:
        assert_same_pixels(page.sample(SEEDS), gen.sample(SEEDS))  # class seed % 3
        assert_same_pixels(page.sample(SEEDS, label=2), gen.sample(SEEDS, labels=2))
        z = gen.latents([5, 6])
        assert_same_pixels(page.generate(z, labels=[0, 1]), gen.images(z, labels=[0, 1]))
        assert page.page.locator("#label option").count() == 4  # seed % 3, then 0, 1, 2
        assert page.errors() == []


def test_stylegan_model_truncates_in_w_in_the_browser(browser: Any, tmp_path: Path) -> None:
    from tests.e2e.stylegan_graph import tiny_stylegan

    model = tiny_stylegan(tmp_path / "sg.onnx", num_classes=2)
    gen = ganedge.load(model)
    with open_site(browser, model, tmp_path) as page:
        for psi in (1.0, 0.5):
            assert_same_pixels(page.sample(SEEDS, truncation=psi),
                               gen.sample(SEEDS, truncation=psi))
        assert_same_pixels(page.sample(SEEDS, truncation=0.5, label=1),
                           gen.sample(SEEDS, truncation=0.5, labels=1))
        z = gen.latents([5, 6])
        assert_same_pixels(page.generate(z, labels=[0, 1]), gen.images(z, labels=[0, 1]))
        page.page.click("#play")
        page.page.wait_for_function("window.ganedge.framesShown >= 3")
        page.page.click("#play")
        assert page.errors() == []
