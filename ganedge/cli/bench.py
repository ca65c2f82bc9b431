"""``ganedge bench``: latency, throughput and parity of models, one row per variant × batch size."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import QUIET, VERSION, choices, one_line_errors, require_torch
from ganedge.errors import InputError
from ganedge.io.files import check_input_file

BENCH_PROVIDERS = ("cpu", "cuda", "openvino")
BenchProvider = choices("BenchProvider", BENCH_PROVIDERS)
QUALITY_FIGURES = ("FD", "KID", "modes covered", "KL(gen||real)")

if TYPE_CHECKING:
    from ganedge.bench import BenchConfig, BenchRow, Candidate
    from ganedge.contract import ModelContract
    from ganedge.evaluation import EvalResult


@one_line_errors(aliases={"batches": "--batch", "budget_s": "--budget", "rounds": "--rounds",
                          "truncation": "--truncation"})
def bench(
    models: list[Path] = typer.Argument(
        None, metavar="[MODEL...]", help="ONNX models: the fp32 one first, then variants (int8, "
        "fp16, uint8 output) of the same generator (default: the bundled digits model)."),
    batch: str = typer.Option("1,8,64", "--batch", metavar="B,B,…",
                              help="Comma-separated batch sizes."),
    provider: list[BenchProvider] = typer.Option(  # type: ignore[valid-type]
        None, "--provider", metavar="NAME", help=f"{', '.join(BENCH_PROVIDERS)}, repeatable "
        "(default: cpu, plus cuda when available; openvino needs the openvino extra)."),
    budget: float = typer.Option(0.5, "--budget", metavar="SECONDS",
                                 help="Timed seconds per row and round, after warm-up."),
    rounds: int = typer.Option(5, "--rounds", metavar="N", help="Fresh workers per candidate, "
                               "in alternating order: each row shows its fastest round's median "
                               "and the rounds' spread; a speed-up whose spreads overlap is "
                               "flagged uncertain."),
    truncation: float = typer.Option(None, "--truncation", "--psi", metavar="PSI",
                                     help="ψ every candidate runs with (default: 0.7 for a "
                                          "StyleGAN model, else 1)."),
    threads: int = typer.Option(None, "--threads", metavar="N", help="Intra-op threads of each "
                                "model, ONNX Runtime and torch alike (default: one per physical "
                                "core)."),
    ort_defaults: bool = typer.Option(False, "--ort-defaults", help="Add the plain ONNX Runtime "
                                      "reference rows: a bare InferenceSession.run."),
    compare_torch: Path = typer.Option(None, "--compare-torch", metavar="CKPT", help="ckpt.pt of "
                                       "the same weights: time PyTorch eager (and torch.compile) "
                                       "in the same run."),
    torch_compile: bool = typer.Option(True, "--torch-compile/--no-torch-compile",
                                       help="With --compare-torch, also time torch.compile."),
    eval_data: str = typer.Option(None, "--eval", metavar="DATA", help="Also score each model's "
                                  "images with `ganedge eval` on this data (digits, a folder, a "
                                  ".npz): quality beside speed."),
    json_out: Path = typer.Option(None, "--json", metavar="FILE", help="Write the JSON report "
                                  "to this file ('-': print it instead of the table)."),
    csv_out: Path = typer.Option(None, "--csv", metavar="FILE",
                                 help="Write one CSV line per row to this file."),
    md_out: Path = typer.Option(None, "--md", metavar="FILE",
                                help="Write the Markdown table to this file."),
    latent_dim: int = opt.LATENT_DIM,
    allow_nonfinite: bool = opt.ALLOW_NONFINITE,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Time models, each alone in its own process, several rounds: cold start, p50 and its spread
    over rounds, p90/p99, images/s, GFLOP/s, parity vs fp32 (held to a tolerance per precision),
    size. ganedge's rows run what `ganedge sample` runs. The table is Markdown when stdout is not
    a terminal."""
    from ganedge.bench import BenchConfig, run_bench
    from ganedge.bench.candidates import default_providers, default_truncation, model_candidates
    from ganedge.bench.report import oversubscribed
    from ganedge.runtime.model import default_model_path
    from ganedge.runtime.session import SessionSettings
    from ganedge.sampling.latents import check_truncation

    config = BenchConfig(batches=opt.parse_int_list(batch, "batch"), budget_s=budget, rounds=rounds)
    models = models or [default_model_path()]
    for model in models:
        check_input_file(model, "model", "a .onnx file path")
    contract = _check_first_model(models[0], config, threads, latent_dim,
                                  allow_nonfinite=allow_nonfinite, quiet=quiet)
    latent_dim = contract.latent_dim
    psi = default_truncation(contract) if truncation is None else check_truncation(truncation)
    if compare_torch is not None and not compare_torch.is_file():
        raise InputError(f"--compare-torch: {str(compare_torch)!r} does not exist: give a "
                         "ckpt.pt path")
    providers = [p.value for p in provider or []] or default_providers(models[0])
    candidates = model_candidates(models, providers, ort_defaults=ort_defaults,
                                  settings=SessionSettings(threads=threads),
                                  latent_dim=latent_dim, truncation=psi)
    if compare_torch is not None:
        candidates = _torch_candidates(compare_torch, torch_compile, candidates, latent_dim,
                                       threads, psi) + candidates
    busy = oversubscribed()  # before the run: the load of other work, not of the run's own
    rows = run_bench(candidates, latent_dim, config,
                     on_progress=None if quiet else lambda line: typer.echo(f"timing {line}",
                                                                            err=True))
    if busy and not quiet:
        typer.echo(f"warning: {busy}", err=True)
    quality = _quality(models, eval_data, latent_dim) if eval_data else {}
    _write_files(rows, config, quality, json_out, csv_out, md_out)
    if json_out == Path("-") or quiet:
        return
    _print_table(rows)
    for name, result in quality.items():
        typer.echo(f"{name}: {_quality_line(result)}")
    if quality:
        typer.echo(f"quality: ganedge eval on {eval_data}, the same seeds for every model; "
                   "`ganedge eval MODEL --data …` prints the full protocol")


def _check_first_model(model: Path, config: BenchConfig, threads: int | None,
                       latent_dim: int | None, *, allow_nonfinite: bool,
                       quiet: bool) -> ModelContract:
    """Load the first (reference) model as `ganedge sample` would, run it once, and check the
    batch sizes against its graph and the budgets: its contract."""
    from ganedge.bench.timing import check_batch_bytes

    gen = opt.open_model(model, "cpu", threads, False, latent_dim,
                         allow_nonfinite=allow_nonfinite, quiet=quiet)
    c = gen.contract
    if gen.static_batch is not None and set(config.batches) != {gen.static_batch}:
        raise InputError(f"the model's graph has a fixed batch of {gen.static_batch}: use "
                         f"--batch {gen.static_batch}", param="batches")
    check_batch_bytes(config, c.latent_dim, c.channels * c.height * c.width)
    gen.sample([0])  # a broken graph (NaN output, shape lies) fails here, not as timed rows
    return c


def _write_files(rows: list[BenchRow], config: BenchConfig, quality: dict[str, EvalResult],
                 json_out: Path | None, csv_out: Path | None, md_out: Path | None) -> None:
    from ganedge.bench.report import machine_line, render_csv, render_markdown, to_json
    from ganedge.io.files import atomic_path

    extra = {"quality": {name: r.to_dict() for name, r in quality.items()}} if quality else None
    texts = {
        json_out: lambda: json.dumps(to_json(rows, config, extra), indent=2) + "\n",
        csv_out: lambda: render_csv(rows),
        md_out: lambda: f"{machine_line()}\n\n{render_markdown(rows)}\n",
    }
    for path, text in texts.items():
        if path is None:
            continue
        if path == Path("-"):
            typer.echo(text(), nl=False)
            continue
        with atomic_path(path, "--json/--csv/--md") as tmp:
            tmp.write_text(text())


def _quality(models: list[Path], data: str, latent_dim: int) -> dict[str, EvalResult]:
    """Model file name → its evaluation, every model against one reference (built once)."""
    from ganedge.bench.candidates import model_contract
    from ganedge.evaluation import Evaluator, evaluate_model

    contract = model_contract(models[0], latent_dim)
    evaluator = Evaluator(data, contract.height, contract.channels)
    return {model.name: evaluate_model(model, evaluator=evaluator, provider="cpu",
                                       latent_dim=latent_dim) for model in models}


def _quality_line(result: EvalResult) -> str:
    shown = [f for f in result.figures if f.name in QUALITY_FIGURES]
    return ", ".join(f"{f.name} {f.value:.3g} (real-vs-real {f.floor:.3g})" for f in shown)


def _torch_candidates(ckpt: Path, compile_too: bool, onnx_candidates: list[Candidate],
                      latent_dim: int, threads: int | None,
                      truncation: float) -> list[Candidate]:
    require_torch("bench --compare-torch")
    from exports.torch_candidates import checkpoint_latent_dim, torch_candidates

    if checkpoint_latent_dim(ckpt) != latent_dim:
        raise InputError(f"--compare-torch: {str(ckpt)!r} takes latents of size "
                         f"{checkpoint_latent_dim(ckpt)}, the model {latent_dim}: give the "
                         "checkpoint the model was exported from")
    flops = onnx_candidates[0].flops_per_image if onnx_candidates else None
    kinds = ("eager", "compile") if compile_too else ("eager",)
    return torch_candidates(ckpt, kinds, flops_per_image=flops, threads=threads,
                            truncation=truncation)


def _print_table(rows: list[BenchRow]) -> None:
    """A rich table on a terminal; elsewhere (pipes, logs, CI) full-width Markdown, nothing cut."""
    from ganedge.bench.report import TABLE_COLUMNS, machine_line, render_markdown, table_cells

    if not sys.stdout.isatty():
        typer.echo(f"{machine_line()}\n\n{render_markdown(rows)}")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=machine_line())
    for name in TABLE_COLUMNS:
        table.add_column(name, justify="left" if name in ("variant", "model", "provider used")
                         else "right")
    for row in rows:
        table.add_row(*table_cells(row))
    Console().print(table)
