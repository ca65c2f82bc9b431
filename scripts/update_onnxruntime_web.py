"""Refresh the onnxruntime-web files that ganedge ships (ganedge/web/ort/) from the npm registry.

`ganedge web` copies these files into every site, so a site needs no network and no CDN. Only the
WebGPU bundle is kept: it carries both execution providers (WebGPU, and WebAssembly on the CPU as
the fallback), so one set of files serves every browser. Needs npm (dev time only).

Run: python scripts/update_onnxruntime_web.py [VERSION]   (default: the version pinned below)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "1.30.0"
FILES = ("ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
         "ort-wasm-simd-threaded.asyncify.wasm")
OUT = Path(__file__).resolve().parents[1] / "ganedge" / "web" / "ort"
LICENSE = """MIT License

Copyright (c) Microsoft Corporation

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def main(version: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"onnxruntime-web@{version}", "--silent"], cwd=tmp,
                       check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(next(Path(tmp).glob("onnxruntime-web-*.tgz"))) as archive:
            archive.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        if OUT.exists():
            shutil.rmtree(OUT)
        OUT.mkdir(parents=True)
        for name in FILES:
            shutil.copyfile(dist / name, OUT / name)
    (OUT / "LICENSE").write_text(LICENSE)
    (OUT / "VERSION").write_text(version + "\n")
    total = sum((OUT / name).stat().st_size for name in FILES)
    print(f"onnxruntime-web {version}: {len(FILES)} files, {total / 1e6:.1f} MB in {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else VERSION)
