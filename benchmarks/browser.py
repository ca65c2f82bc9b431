"""ms per image of one model in headless Chromium (onnxruntime-web, WebAssembly) next to the Python
runtime, measured the same way in one run: the same 16 latents, one batch of 16, uint8 pixels out,
the median of RUNS timed calls after WARMUP. Python is timed first and its session closed before
the browser starts, so no runtime's threads are alive while the other is timed.

Run: nice -n 10 python -m benchmarks.browser [digits] [model.onnx …]
(needs chromium and playwright; "digits" is the bundled model, the default)
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ganedge
from benchmarks.chromium import CHROMIUM_FLAGS, serve
from ganedge.bench.report import machine_info, machine_line
from ganedge.web import build_site

BATCH = 16
WARMUP = 3
RUNS = 20
RESULTS = Path(__file__).resolve().parent / "results" / "browser.json"


def python_ms(model: Path | None, threads: int | None) -> float:
    gen = ganedge.load(model, provider="cpu", threads=threads)
    z = gen.latents(range(BATCH))
    times = []
    for i in range(WARMUP + RUNS):
        start = time.perf_counter()
        gen.images(z, batch_size=BATCH)
        if i >= WARMUP:
            times.append((time.perf_counter() - start) * 1000 / BATCH)
    del gen
    gc.collect()
    return statistics.median(times)


def browser_ms(model: Path | None) -> tuple[float, str, int]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        report = build_site(model, Path(tmp) / "site")
        with serve(report.path) as url, sync_playwright() as p:
            chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = chromium.new_page()
            page.goto(url)
            page.wait_for_function("window.ganedge !== undefined")
            backend = page.evaluate("window.ganedge.ready")["backend"]
            times = page.evaluate("""async ([batch, warmup, runs]) => {
                const dim = (await window.ganedge.ready).contract.latent_dim;
                const z = new Float32Array(batch * dim).map((_, i) => Math.sin(i));
                const times = [];
                for (let i = 0; i < warmup + runs; i++) {
                  const start = performance.now();
                  await window.ganedge.generate(z, batch);
                  if (i >= warmup) times.push((performance.now() - start) / batch);
                }
                return times; }""", [BATCH, WARMUP, RUNS])
            chromium.close()
    return statistics.median(times), backend, report.total_bytes


def measure(model: Path | None) -> dict:
    """One model's row: Python on 1 thread and on its default threads, then the browser."""
    one = python_ms(model, threads=1)
    default = python_ms(model, threads=None)
    web, backend, site_bytes = browser_ms(model)
    result = {"model": str(model or "bundled digits"), "batch": BATCH, "runs": RUNS,
              "machine": machine_info(), "python_1_thread_ms": one, "python_default_ms": default,
              "browser_ms": web, "browser_backend": backend, "site_bytes": site_bytes}
    print(f"{result['model']}: browser ({backend}, 1 thread) {web:.2f} ms/image, Python runtime "
          f"{one:.2f} ms/image on 1 thread and {default:.2f} on its default threads "
          f"(batch {BATCH}); browser/Python(1 thread) = {web / one:.1f}×\n{machine_line()}")
    return result


def main() -> None:
    models = [None if arg == "digits" else Path(arg) for arg in sys.argv[1:]] or [None]
    RESULTS.write_text(json.dumps([measure(model) for model in models], indent=2) + "\n")


if __name__ == "__main__":
    main()
