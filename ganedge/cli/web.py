"""``ganedge web``: a static site that samples the model in the browser (onnxruntime-web)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.web import build_site


@one_line_errors
def web(
    model: Path = opt.MODEL,
    out: Path = typer.Option(Path("site"), "-o", "--output", "--out", metavar="DIR",
                             help="Folder for the site: new, empty, or a site written before "
                                  "(replaced)."),
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Write a self-contained static site that samples the model in the browser.

    The folder holds the page, the model, its contract and the onnxruntime-web files (WebGPU when
    the browser offers it, else WebAssembly): nothing is fetched from elsewhere. Serve it with any
    static file server, e.g. `python -m http.server -d site`, and open http://localhost:8000.
    """
    report = build_site(model, out)
    if as_json:
        typer.echo(json.dumps({**asdict(report), "path": str(report.path),
                               "total_bytes": report.total_bytes}, indent=2))
    elif not quiet:
        sizes = ", ".join(f"{part} {size / 1e6:.2f} MB" for part, size in report.sizes.items())
        typer.echo(f"wrote {report.path}/ ({sizes}; onnxruntime-web {report.ort_version}): "
                   f"serve it with `python -m http.server -d {report.path}`")
