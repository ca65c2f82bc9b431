"""The GPU sampling table: every way to get images of a generator out of a GPU, side by side.

    python -m benchmarks.gpu [--out DIR] [--batches 1,64,256] [--budget 0.25] [--rounds 2]
    python -m benchmarks.gpu --cpu-dry-run      # the same code path on the CPU, tiny budgets

Models (made here: random-init checkpoints of the trainer's architectures, exported by the real
exporter, so torch and ONNX run the same weights): DCGAN-64 RGB (benchmarks.suite) and the
digits-stylegan2 preset's StyleGAN2. Rows, each candidate alone in its own worker process,
``--rounds`` rounds, host latents in, host images out: torch eager fp32 (the baseline) and fp16,
torch.compile, plain ONNX Runtime, and ganedge (``GeneratorModel``) fp32, fp16, uint8 output,
``sample`` (uint8 pixels, what ``ganedge sample`` runs) and CUDA graphs; ganedge fp32 on the CPU is
the parity reference every row is held to. StyleGAN runs at ψ 0.7. Each model's table is written
as soon as it is measured (gpu.md, gpu.json under --out), so a part that fails or runs out of
time leaves the others' results. Exits 0 unless nothing could be measured at all.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import onnxruntime as ort
import torch

from benchmarks import suite
from exports.checkpoint import export_checkpoint
from exports.torch_candidates import torch_candidates
from ganedge.bench import BenchConfig, BenchRow, Candidate, run_bench
from ganedge.bench.candidates import PLAIN_LABEL, failed_candidate, onnx_candidate
from ganedge.bench.report import gpu_name, machine_info, machine_line, render_markdown
from ganedge.errors import one_line
from ganedge.runtime import providers as prov
from ganedge.runtime.session import SessionSettings
from trainer.checkpoint import save_checkpoint
from trainer.config import ArchConfig, preset
from trainer.models import build_generator

ROOT = Path(__file__).resolve().parent.parent
# ~4 min per model on an H200 box (20 worker processes, torch.compile's first compiles the most)
GPU_CONFIG = BenchConfig(batches=(1, 64, 256), budget_s=0.25, warmup_s=0.1, rounds=2)
# a smoke run of the same path: one round (the spread logic is then shown but settles nothing)
DRY_CONFIG = BenchConfig(batches=(1, 4), budget_s=0.01, warmup_s=0.0, min_reps=3, rounds=1)
GPU_TORCH_KINDS = ("eager", "fp16", "compile")
DRY_TORCH_KINDS = ("eager", "fp16")  # torch.compile takes minutes on a small CPU
# the ONNX files of each model: (key, precision, output dtype)
EXPORTS = (("fp32", "fp32", "float"), ("fp16", "fp16", "float"), ("uint8", "fp32", "uint8"))


@dataclass(frozen=True)
class GpuModel:
    """One generator of the GPU table."""

    name: str
    arch: str
    config: ArchConfig


MODELS = (
    GpuModel("dcgan-64-rgb", "dcgan", next(m.config for m in suite.SUITE
                                           if m.name == "dcgan-64-rgb")),
    GpuModel("digits-stylegan2", "stylegan2", preset("digits-stylegan2").model),
)
# for the serving load test only (``--export-only``): a generator heavy enough that its session
# runs, not the per-request work of the server, bound a GPU replica; FFHQ-256's widths
SERVING_MODELS = (
    GpuModel("stylegan2-256", "stylegan2",
             ArchConfig(latent_dim=512, channels=3, image_size=256, base_channels=64,
                        channel_max=512)),
)


def build(model: GpuModel, folder: Path,
          exports: tuple[tuple[str, str, str], ...] = EXPORTS,
          ) -> tuple[Path, dict[str, Path], list[str]]:
    """Random-init checkpoint (a StyleGAN's w_avg and noise strengths made non-zero, so truncation
    and noise really run) and its ``exports``: (checkpoint, key → .onnx, notes on failed
    exports)."""
    torch.manual_seed(suite.SEED)
    generator = build_generator(model.arch, model.config).eval()
    if model.arch == "stylegan2":
        with torch.no_grad():
            generator.mapping.w_avg.normal_()
            for name, p in generator.named_parameters():
                if name.endswith("noise_strength"):
                    p.fill_(0.1)
    ckpt = save_checkpoint(folder / f"{model.name}.pt", model.arch, model.config, generator, 0)
    files, notes = {}, []
    for key, precision, output in exports:
        try:
            files[key] = export_checkpoint(ckpt, folder / f"{model.name}.{key}.onnx",
                                           precision=precision, output=output).path
        except Exception as exc:  # a variant the exporter refuses is a note; the table goes on
            notes.append(f"{model.name} {key}: export failed: {one_line(exc, 160)}")
    return ckpt, files, notes


def candidates(ckpt: Path, files: dict[str, Path], provider: str,
               torch_kinds: tuple[str, ...]) -> list[Candidate]:
    """The table's rows for one model on ``provider`` ("cuda", or "cpu" for the dry run)."""
    fp32 = files["fp32"]
    rows = [onnx_candidate(fp32, "cpu", label="ganedge cpu (reference)", reference=True)]
    device = "cuda" if provider == "cuda" else "cpu"
    rows += torch_candidates(ckpt, torch_kinds, flops_per_image=rows[0].flops_per_image,
                             device=device, truncation=_truncation(rows[0]))
    ways = [(PLAIN_LABEL, fp32, {"plain": True}),
            ("ganedge", fp32, {}),
            ("ganedge fp16", files.get("fp16"), {}),
            ("ganedge uint8 output", files.get("uint8"), {}),
            ("ganedge sample (uint8)", fp32, {"api": "sample"}),
            ("ganedge cuda-graph", fp32, {"settings": SessionSettings(cuda_graph=True)})]
    for label, path, options in ways:
        if path is None:
            rows.append(failed_candidate(label, fp32, provider, "not exported (see notes)"))
            continue
        try:
            rows.append(onnx_candidate(path, provider, label=label, **options))
        except Exception as exc:  # an unreadable file still gets its ✗ row
            rows.append(failed_candidate(label, path, provider, one_line(exc)))
    return rows


def _truncation(reference: Candidate) -> float:
    return reference.start.truncation  # type: ignore[attr-defined]  (a GanedgeStarter)


def main() -> int:
    args = _parse()
    if args.export_only:
        return export_only(args.export_only, args.models)
    dry = args.cpu_dry_run or prov.CUDA not in ort.get_available_providers()
    if dry and not args.cpu_dry_run:
        print("no CUDA provider in onnxruntime: running the CPU dry run instead", flush=True)
    provider = "cpu" if dry else "cuda"
    config = DRY_CONFIG if dry else GPU_CONFIG
    if args.batches:
        config = BenchConfig(**{**asdict(config), "batches": args.batches})
    if args.budget is not None or args.rounds is not None:
        config = BenchConfig(**{**asdict(config), "budget_s": args.budget or config.budget_s,
                                "rounds": args.rounds or config.rounds})
    kinds = args.torch_kinds or (DRY_TORCH_KINDS if dry else GPU_TORCH_KINDS)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"{machine_line()} · torch {torch.__version__} · "
              f"{'CPU DRY RUN (not GPU figures)' if dry else 'provider cuda'} · "
              f"{config.rounds} rounds, {config.budget_s:g} s per row and round")
    result: dict = {"schema": "ganedge.bench-gpu/1", "dry_run": dry, "gpu": gpu_name(),
                    "machine": machine_info(), "torch": torch.__version__,
                    "config": asdict(config), "models": {}, "notes": []}
    measured = 0
    with tempfile.TemporaryDirectory(prefix="ganedge-gpu-") as tmp:
        for model in (m for m in (*MODELS, *SERVING_MODELS) if m.name in args.models):
            measured += _one_model(model, Path(tmp), provider, kinds, config, result)
            _write(args.out, header, result)
    print(f"wrote {args.out / 'gpu.md'} and {args.out / 'gpu.json'}", flush=True)
    return 0 if measured else 1


def export_only(folder: Path, names: list[str]) -> int:
    """Write NAME.onnx (fp32) for each model named: the files the serving load test serves."""
    folder.mkdir(parents=True, exist_ok=True)
    for model in (m for m in (*MODELS, *SERVING_MODELS) if m.name in names):
        begin = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ganedge-gpu-") as tmp:
            _, files, notes = build(model, Path(tmp), exports=EXPORTS[:1])
            if notes:
                print("\n".join(notes), flush=True)
                return 1
            shutil.move(files["fp32"], folder / f"{model.name}.onnx")
        print(f"wrote {folder / model.name}.onnx in {time.perf_counter() - begin:.0f} s",
              flush=True)
    return 0


def _one_model(model: GpuModel, folder: Path, provider: str, kinds: tuple[str, ...],
               config: BenchConfig, result: dict) -> int:
    """Build, time and record one model; its failure is a note, never the end of the table."""
    begin = time.perf_counter()
    print(f"building {model.name} …", flush=True)
    try:
        ckpt, files, notes = build(model, folder)
        result["notes"] += notes
        rows = run_bench(candidates(ckpt, files, provider, kinds),
                         model.config.latent_dim, config,
                         on_progress=lambda line: print(f"  timing {line}", flush=True))
    except Exception as exc:  # one model's failure leaves the other's rows
        result["notes"].append(f"{model.name}: {one_line(exc, 300)}")
        print(f"{model.name} failed: {one_line(exc, 300)}", flush=True)
        return 0
    result["models"][model.name] = [asdict(r) for r in rows]
    print(f"{model.name}: {len(rows)} rows in {time.perf_counter() - begin:.0f} s", flush=True)
    return 1


def _write(out: Path, header: str, result: dict) -> None:
    parts = [f"# ganedge sampling, side by side\n\n{header}\n"]
    for name, rows in result["models"].items():
        parts.append(f"## {name}\n\n{render_markdown([BenchRow(**r) for r in rows])}\n")
    parts += [f"- note: {note}" for note in result["notes"]]
    (out / "gpu.md").write_text("\n".join(parts) + "\n")
    (out / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = ROOT / "benchmarks" / "results" / "gpu"
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else default_out
    parser.add_argument("--out", type=Path, default=out, help="folder for gpu.md and gpu.json "
                        "(default: $OUT when set, else benchmarks/results/gpu)")
    parser.add_argument("--cpu-dry-run", action="store_true",
                        help="the same code path on the CPU provider with tiny budgets")
    parser.add_argument("--batches", type=lambda s: tuple(int(b) for b in s.split(",")),
                        default=None, help="batch sizes (default 1,64,256; dry run 1,4)")
    parser.add_argument("--budget", type=float, default=None,
                        help="timed seconds per row and round")
    parser.add_argument("--rounds", type=int, default=None, help="workers per candidate")
    parser.add_argument("--torch-kinds", type=lambda s: tuple(s.split(",")), default=None,
                        help="e.g. eager,fp16,compile (default: all three; dry run eager,fp16)")
    parser.add_argument("--models", nargs="+", default=[m.name for m in MODELS],
                        choices=[m.name for m in (*MODELS, *SERVING_MODELS)],
                        help=f"default: {' '.join(m.name for m in MODELS)}")
    parser.add_argument("--export-only", type=Path, default=None, metavar="DIR",
                        help="only write DIR/NAME.onnx (fp32) for each of --models, untimed")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
