"""``build_site``: one folder with the page, the model, its contract and onnxruntime-web.

Nothing in a site is fetched from elsewhere: the onnxruntime-web files ship inside the ganedge
package (scripts/update_onnxruntime_web.py refreshes them), so a site is built offline and served
by any static file server (``python -m http.server -d site``).
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ganedge.contract import KEY_PREFIX
from ganedge.errors import InputError
from ganedge.io.files import make_folder, os_error
from ganedge.runtime.model import GeneratorModel, load

STATIC_FILES = ("index.html", "app.mjs", "latents.mjs", "ziggurat.mjs", "style.css")
CONTRACT_FILE = "contract.json"  # the model's ganedge.* metadata, as in the model file
MARKER = CONTRACT_FILE  # a folder holding this and index.html is a site we may replace


@dataclass(frozen=True)
class SiteReport:
    """What ``build_site`` wrote."""

    path: Path  # the site folder
    model_file: str  # the model's name inside the site
    ort_version: str  # onnxruntime-web version shipped
    sizes: dict[str, int]  # bytes per part: model, runtime, page

    @property
    def total_bytes(self) -> int:
        """Bytes of the whole site."""
        return sum(self.sizes.values())


def package_dir(name: str) -> Path:
    """A folder of ganedge.web's package data: ``static`` (the page) or ``ort`` (the runtime)."""
    return Path(str(resources.files("ganedge.web").joinpath(name)))


def build_site(model: str | Path | None, out: str | Path) -> SiteReport:
    """Write a static site for ``model`` (default: the bundled digits model) into ``out``.

    ``out`` must be new, empty, or a site written before (which is replaced whole). The site is
    assembled in a temporary folder beside ``out`` and moved into place at the end, so a failure
    leaves nothing half-written.
    """
    gen = load(model)  # checks the file and its contract before anything is written
    out = _check_out(Path(out))
    make_folder(out.parent)
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
    try:  # disk full, read-only, permissions: one line naming the site, nothing half-written
        tmp.mkdir()  # not mkdtemp: its 0700 would ignore the umask, and a site is to be served
        report = _assemble(gen, tmp)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except OSError as exc:
        raise os_error(out, exc) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return SiteReport(out, report.model_file, report.ort_version, report.sizes)


def _check_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise InputError(f"{str(out)!r} is a file: give a folder for the site", param="out")
    if out.is_dir() and any(out.iterdir()) and not ((out / MARKER).is_file()
                                                    and (out / "index.html").is_file()):
        raise InputError(f"{str(out)!r} is not empty and holds no ganedge site: give a new or "
                         "empty folder", param="out")
    parent = out.parent if out.parent != Path("") else Path(".")
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{str(parent)!r} is not a folder", param="out")
    return out


def _assemble(gen: GeneratorModel, site: Path) -> SiteReport:
    model_file = "model" + (gen.path.suffix.lower() if gen.path.suffix.lower() == ".ort"
                            else ".onnx")
    shutil.copyfile(gen.path, site / model_file)
    props = gen.session.get_modelmeta().custom_metadata_map
    meta = {k: v for k, v in props.items() if k.startswith(KEY_PREFIX)}  # load() checked them
    (site / CONTRACT_FILE).write_text(json.dumps({"model": model_file, "metadata": meta},
                                                 indent=2, sort_keys=True))
    for name in STATIC_FILES:
        shutil.copyfile(package_dir("static") / name, site / name)
    runtime = package_dir("ort")
    (site / "ort").mkdir()
    for item in sorted(runtime.iterdir()):
        if item.is_file():
            shutil.copyfile(item, site / "ort" / item.name)
    sizes = {"model": (site / model_file).stat().st_size,
             "runtime": sum(p.stat().st_size for p in (site / "ort").iterdir()),
             "page": sum((site / n).stat().st_size for n in (*STATIC_FILES, CONTRACT_FILE))}
    version = (runtime / "VERSION").read_text().strip()
    return SiteReport(site, model_file, version, sizes)

