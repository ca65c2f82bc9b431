"""Which of torch's ONNX exporters should ganedge use? Both, on every architecture, in one run.

    python -m benchmarks.exporter_choice          # all → benchmarks/results/exporter_choice.json
    python -m benchmarks.exporter_choice --quick  # smoke test: dcgan at 32×32 only, writes nothing

For each architecture × {unconditional, 10 classes} × {32, 64} px, the generator (seeded init,
eval, parametrizations folded by ``exports.prepare``) is exported by
  torchscript  ``exports.onnx.trace_generator`` itself: ``torch.onnx.export(..., dynamo=False)``,
               opset 17, ``dynamic_axes`` batch: what ganedge ships today;
  dynamo       ``torch.onnx.export(..., dynamo=True)`` (torch.export), opset 18 (its lowest
               native opset), ``dynamic_shapes`` with ``torch.export.Dim("batch")``,
               ``external_data=False``;
and each file is checked for a symbolic batch axis, side .data files, graph size, parity with
PyTorch in ONNX Runtime CPU (batch 1, 3, 64) and ORT latency (batch 1 and 64, one intra-op
thread, each exporter's file timed alone in its own worker process by ganedge.bench, the same
timing every ganedge benchmark uses).

Needs the dev extra plus onnxscript, the dynamo exporter's dependency (not one of ganedge's):
    pip install -e '.[dev]' onnxscript
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from itertools import product
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from exports.onnx import BATCH_AXIS, DEFAULT_OPSET, infer_contract, trace_generator
from exports.parity import PARITY_BATCHES, check_parity, example_inputs
from exports.prepare import prepare
from exports.scratch import scratch_files
from ganedge.bench import BenchConfig, run_bench
from ganedge.bench.candidates import onnx_candidate
from ganedge.bench.report import machine_info
from ganedge.contract import ModelContract
from ganedge.runtime.session import SessionSettings
from trainer.config import ArchConfig
from trainer.models import ARCHITECTURES, build_generator

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "exporter_choice.json"
SEED = 0
NUM_CLASSES = (0, 10)
SIZES = (32, 64)
DYNAMO_OPSET = 18  # lowest opset torch 2.13's dynamo exporter implements; 17 needs a converter
EXPORT_REPEATS = 3
LATENCY_BATCHES = (1, 64)
LATENCY = BenchConfig(batches=LATENCY_BATCHES, budget_s=0.5, warmup_s=0.1)
EXPORTERS = ("torchscript", "dynamo")


@dataclass(frozen=True)
class Case:
    """One generator to export."""

    arch: str
    num_classes: int
    size: int

    @property
    def label(self) -> str:
        return f"{self.arch} {'cond' if self.num_classes else 'uncond'} {self.size}px"


@dataclass
class Result:
    """What one exporter did with one case; every field after ``ok`` is None when it failed."""

    exporter: str
    ok: bool
    error: str | None = None
    export_s: float | None = None  # median of EXPORT_REPEATS wall times
    opset: int | None = None
    symbolic_batch: bool | None = None  # every input and output: dim 0 has dim_param, no dim_value
    batch_dims: dict[str, str] | None = None  # name → dim_param (or the fixed value) of axis 0
    side_files: list[str] | None = None  # files beside model.onnx after saving into an empty folder
    size_bytes: int | None = None
    nodes: int | None = None
    op_types: dict[str, int] | None = None
    parity: dict[str, Any] | None = None  # ParityReport.to_dict(): max/mean abs per batch
    latency_ms: dict[str, float] = field(default_factory=dict)  # batch → median ms
    extra: dict[str, Any] = field(default_factory=dict)  # exporter-specific findings


def main() -> None:
    args = _parse()
    _quiet_torch_logs()
    started = time.perf_counter()
    cases = _cases(args.quick)
    rows = [_run_case(case, n, len(cases)) for n, case in enumerate(cases, 1)]
    total_s = time.perf_counter() - started
    summary = summarize(rows)
    print(markdown_table(rows))
    print("\n" + "\n".join(f"- {k}: {v}" for k, v in summary.items()))
    print(f"\n{len(cases)} cases in {total_s:.0f} s")
    if not args.quick:
        _write(rows, summary, total_s)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="dcgan at 32×32 only; writes nothing")
    return parser.parse_args()


def _cases(quick: bool) -> list[Case]:
    if quick:
        return [Case("dcgan", 0, 32)]
    return [Case(a, c, s) for a, c, s in product(ARCHITECTURES.names(), NUM_CLASSES, SIZES)]


def _run_case(case: Case, n: int, total: int) -> dict[str, Any]:
    print(f"[{n}/{total}] {case.label}", file=sys.stderr, flush=True)
    module = build_module(case)
    contract = infer_contract(module, ArchConfig().latent_dim, case.num_classes)
    with tempfile.TemporaryDirectory() as tmp:
        results, models = {}, {}
        for name in EXPORTERS:
            folder = Path(tmp) / name
            results[name], models[name] = _export_and_check(name, module, contract, folder)
        _latencies(results, models, contract)
    return {"case": asdict(case), "results": {k: asdict(v) for k, v in results.items()}}


# -- the generator -------------------------------------------------------------------------------

def build_module(case: Case) -> nn.Module:
    """Seeded generator, eval mode, folded by ``exports.prepare``; BatchNorm given trained-like
    running statistics, so that an exporter folding BN into the convolutions is really tested."""
    cfg = ArchConfig(image_size=case.size, num_classes=case.num_classes)
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        module = build_generator(case.arch, cfg)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for bn in (m for m in module.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.copy_(0.3 * torch.randn(bn.num_features, generator=gen))
            bn.running_var.copy_(0.5 + 1.5 * torch.rand(bn.num_features, generator=gen))
    return prepare(module)


# -- exporting -----------------------------------------------------------------------------------

def export_torchscript(module: nn.Module, contract: ModelContract, path: Path) -> None:
    """ganedge's own export step, then saved as ``export_generator`` saves it."""
    onnx.save_model(trace_generator(module, contract, DEFAULT_OPSET), str(path))


def export_dynamo(module: nn.Module, contract: ModelContract, path: Path, opset: int = DYNAMO_OPSET,
                  external_data: bool = False) -> None:
    """torch.export-based export with one symbolic ``batch`` Dim shared by every input."""
    names = _input_names(contract)
    batch = torch.export.Dim(BATCH_AXIS)
    args = example_inputs(2, contract.latent_dim, contract.num_classes)
    with _silenced():
        torch.onnx.export(module, args, str(path), dynamo=True, opset_version=opset,
                          input_names=names, output_names=[contract.output_name],
                          dynamic_shapes=tuple({0: batch} for _ in names),
                          external_data=external_data, verbose=False)


def _input_names(contract: ModelContract) -> list[str]:
    return [contract.input_name] + ([contract.label_input_name] if contract.conditional else [])


EXPORT_FNS: dict[str, Callable[[nn.Module, ModelContract, Path], None]] = {
    "torchscript": export_torchscript,
    "dynamo": export_dynamo,
}


def _export_and_check(name: str, module: nn.Module, contract: ModelContract,
                      folder: Path) -> tuple[Result, bytes | None]:
    folder.mkdir()
    try:
        extra = _dynamo_extras(module, contract, folder) if name == "dynamo" else {}
        times = [_timed_export(EXPORT_FNS[name], module, contract, folder / f"run{i}")
                 for i in range(EXPORT_REPEATS)]
    except Exception as exc:  # noqa: BLE001 — a failing exporter is a result, not a crash
        return Result(name, ok=False, error=_first_line(exc)), None
    path = folder / "run0" / "model.onnx"
    model = onnx.load(str(path))
    result = Result(name, ok=True, export_s=statistics.median(times), extra=extra,
                    side_files=sorted(p.name for p in path.parent.iterdir() if p != path),
                    size_bytes=path.stat().st_size, **graph_facts(model))
    result.parity = check_parity(module, model.SerializeToString(), contract).to_dict()
    return result, model.SerializeToString()


def _timed_export(fn: Callable[[nn.Module, ModelContract, Path], None], module: nn.Module,
                  contract: ModelContract, folder: Path) -> float:
    folder.mkdir()
    started = time.perf_counter()
    fn(module, contract, folder / "model.onnx")
    return time.perf_counter() - started


def _dynamo_extras(module: nn.Module, contract: ModelContract, folder: Path) -> dict[str, Any]:
    """Two untimed exports (they also warm it up): torch's default ``external_data=True``, and
    opset 17, which torch reaches only through a version converter."""
    (folder / "default").mkdir()
    export_dynamo(module, contract, folder / "default" / "model.onnx", external_data=True)
    extras: dict[str, Any] = {
        "side_files_with_torch_defaults": sorted(p.name for p in (folder / "default").iterdir()
                                                 if p.name != "model.onnx")}
    extras["opset17"] = _try_opset17(module, contract, folder)
    return extras


def _try_opset17(module: nn.Module, contract: ModelContract, folder: Path) -> dict[str, Any]:
    (folder / "opset17").mkdir()
    path = folder / "opset17" / "model.onnx"
    try:
        export_dynamo(module, contract, path, opset=17)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": _first_line(exc)}
    model = onnx.load(str(path))
    parity = check_parity(module, model.SerializeToString(), contract)
    worst = max(b.max_abs for b in parity.batches)
    return {"ok": True, "opset": _opset(model), "parity_ok": parity.ok, "max_abs": worst}


# -- what is in the graph ------------------------------------------------------------------------

def graph_facts(model: onnx.ModelProto) -> dict[str, Any]:
    """Opset, batch axis of every input/output, node count and op-type counts."""
    values = [*model.graph.input, *model.graph.output]
    dims = {v.name: v.type.tensor_type.shape.dim[0] for v in values}
    return {
        "opset": _opset(model),
        "symbolic_batch": all(d.dim_param and not d.HasField("dim_value") for d in dims.values()),
        "batch_dims": {k: d.dim_param or str(d.dim_value) for k, d in dims.items()},
        "nodes": len(model.graph.node),
        "op_types": dict(sorted(Counter(n.op_type for n in model.graph.node).items())),
    }


def _opset(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


# -- latency -------------------------------------------------------------------------------------

def _latencies(results: dict[str, Result], models: dict[str, bytes | None],
               contract: ModelContract) -> None:
    graphs = {name: onnx.load_from_string(m) for name, m in models.items() if m is not None}
    # one thread: the machine is shared, and so are the figures
    settings = SessionSettings(threads=1)
    with scratch_files(graphs, contract) as paths:
        candidates = [onnx_candidate(path, "cpu", label=name, settings=settings, plain=True)
                      for name, path in paths.items()]
        rows = run_bench(candidates, contract.latent_dim, LATENCY)
    for row in rows:
        if row.p50_ms is not None:
            results[row.label].latency_ms[str(row.batch)] = row.p50_ms


# -- report --------------------------------------------------------------------------------------

HEADER = ("| case | exporter | ok | export s | opset | symbolic batch | side files | nodes | "
          "size KB | max abs err (b1/b3/b64) | ORT ms b1 | ORT ms b64 |")


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per case and exporter, failures included."""
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for row in rows:
        label = Case(**row["case"]).label
        for name in EXPORTERS:
            lines.append(_line(label, row["results"][name]))
    return "\n".join(lines)


def _line(label: str, r: dict[str, Any]) -> str:
    if not r["ok"]:
        return f"| {label} | {r['exporter']} | **failed**: {r['error']} |" + " |" * 9
    errs = "/".join(f"{b['max_abs']:.1e}" for b in r["parity"]["batches"])
    lat = r["latency_ms"]
    return (f"| {label} | {r['exporter']} | yes | {r['export_s']:.2f} | {r['opset']} | "
            f"{'yes' if r['symbolic_batch'] else 'NO'} | {', '.join(r['side_files']) or 'none'} | "
            f"{r['nodes']} | {r['size_bytes'] / 1024:.0f} | {errs} | "
            f"{lat['1']:.2f} | {lat['64']:.1f} |")


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures the choice rests on; ratios are dynamo / torchscript where both ran."""
    by = {name: [row["results"][name] for row in rows] for name in EXPORTERS}
    both = [(t, d) for t, d in zip(by["torchscript"], by["dynamo"]) if t["ok"] and d["ok"]]
    summary: dict[str, Any] = {
        f"{name} ok": f"{sum(r['ok'] for r in rs)}/{len(rs)}" for name, rs in by.items()}
    for name, rs in by.items():
        ok = [r for r in rs if r["ok"]]
        summary[f"{name} symbolic batch everywhere"] = all(r["symbolic_batch"] for r in ok)
        summary[f"{name} worst max abs"] = max(
            (b["max_abs"] for r in ok for b in r["parity"]["batches"]), default=None)
    dynamo = [r for r in by["dynamo"] if r["ok"]]
    summary["dynamo side .data file under torch's default external_data=True"] = (
        f"{sum(bool(r['extra']['side_files_with_torch_defaults']) for r in dynamo)}/{len(dynamo)}")
    summary["dynamo at opset 17 (converter) exported and within tolerance"] = (
        f"{sum(r['extra']['opset17'].get('parity_ok', False) for r in dynamo)}/{len(dynamo)}")
    summary["export time, median of per-case ratios"] = _ratio(both, lambda r: r["export_s"])
    summary["file size, median of per-case ratios"] = _ratio(both, lambda r: r["size_bytes"])
    summary["node count, median of per-case ratios"] = _ratio(both, lambda r: r["nodes"])
    for batch in LATENCY_BATCHES:
        summary[f"ORT latency b{batch}, median of per-case ratios"] = _ratio(
            both, lambda r, b=str(batch): r["latency_ms"][b])
    return summary


def _ratio(pairs: list[tuple[dict[str, Any], dict[str, Any]]],
           value: Callable[[dict[str, Any]], float]) -> float | None:
    ratios = [value(d) / value(t) for t, d in pairs]
    return round(statistics.median(ratios), 3) if ratios else None


def _write(rows: list[dict[str, Any]], summary: dict[str, Any], total_s: float) -> None:
    result = {
        "schema": "ganedge.exporter-choice/1",
        "machine": {**machine_info(), "onnx": onnx.__version__,
                    "onnxscript": version("onnxscript")},
        "settings": {"seed": SEED, "torchscript_opset": DEFAULT_OPSET, "dynamo_opset": DYNAMO_OPSET,
                     "export_repeats": EXPORT_REPEATS, "parity_batches": list(PARITY_BATCHES),
                     "latency": asdict(LATENCY), "ort_intra_op_threads": 1},
        "total_s": round(total_s, 1),
        "summary": summary,
        "rows": rows,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


# -- keeping the exporters quiet -----------------------------------------------------------------

def _quiet_torch_logs() -> None:
    # the dynamo exporter logs a warning per missing torchvision op on first use
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """The dynamo exporter prints progress to stdout, converter notes to stderr, and warns."""
    with (warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()),
          contextlib.redirect_stderr(io.StringIO())):
        warnings.simplefilter("ignore")
        yield


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]


if __name__ == "__main__":
    main()
