"""``ganedge mix``: NVlabs' style-mixing figure from a StyleGAN model."""

from __future__ import annotations

from pathlib import Path

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import QUIET, VERSION, one_line_errors
from ganedge.errors import InputError
from ganedge.io.files import check_writable
from ganedge.io.imaging import save_png, upscale
from ganedge.sampling.latents import format_seeds, parse_seeds
from ganedge.sampling.stylegan import parse_styles


@one_line_errors
def mix(
    model: Path = opt.MODEL,
    rows: str = typer.Option(..., "--rows", metavar="SEEDS", help="Row seeds (they give the "
                             "styles not in --styles), e.g. 85,100,75."),
    cols: str = typer.Option(..., "--cols", metavar="SEEDS", help="Column seeds (they give the "
                             "--styles), e.g. 55,821,1789."),
    styles: str = typer.Option("0-6", "--styles", metavar="SPEC", help="Indices of the ws taken "
                               "from the columns: 0-6 coarse (pose, shape), higher ones finer "
                               "(colour, texture)."),
    output: Path = typer.Option(Path("mix.png"), "-o", "--output", metavar="PNG",
                                help="Grid PNG."),
    truncation: float = opt.TRUNCATION,
    label: int = typer.Option(None, "--label", metavar="ID", help="Class id for a conditional "
                              "model [default: first row seed % num_classes]."),
    scale: int = typer.Option(1, "--scale", metavar="K",
                              help="Enlarge the grid this many times (nearest)."),
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    strict_provider: bool = opt.STRICT_PROVIDER,
    cuda_graph: bool = opt.CUDA_GRAPH,
    cudnn_search: opt.CudnnSearch = opt.CUDNN_SEARCH,
    tf32: bool = opt.TF32,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Style mixing: each row seed's image with the --styles of each column seed (NVlabs'
    figure: column sources along the top, row sources down the left)."""
    row_seeds, col_seeds = parse_seeds(rows), parse_seeds(cols)
    if scale < 1:
        raise InputError(f"must be at least 1 (got {scale})", param="scale")
    output = check_writable(output, "output")
    gen = opt.open_model(model, provider, threads, strict_provider, None, quiet=quiet,
                         settings=opt.session_settings(cuda_graph, cudnn_search, tf32))
    if not gen.contract.is_stylegan:
        raise InputError(f"{model or 'the bundled model'} is not a StyleGAN model (it maps z to "
                         "images directly): mixing needs mapping + synthesis", param="model")
    picked = parse_styles(styles, gen.contract.num_ws)
    grid = gen.mix(row_seeds, col_seeds, picked, truncation=truncation, label=label)
    save_png(upscale(grid[None], scale)[0] if scale > 1 else grid, output)
    if not quiet:
        typer.echo(f"wrote {output} (rows {format_seeds(row_seeds)} × columns "
                   f"{format_seeds(col_seeds)}, styles {styles} from the columns, "
                   f"ψ {truncation:g})")

