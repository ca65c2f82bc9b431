"""StyleGAN2 64×64 on CPU: the exported graph (ganedge's runtime) beside torch eager of the same
module, and the three forms of the modulated convolution side by side.

Forms: 'activations' scales x before/after one shared convolution (symbolic batch), 'matmul'
builds per-sample weights and multiplies them with k×k shifted copies of x (symbolic batch),
'grouped' builds per-sample weights and runs one grouped convolution (NVlabs' fused form; its
group count is the batch, so the graph is exported per batch size). Every candidate is timed
alone in its own worker process by ganedge's one timing loop. Two tables: end to end (mapping
+ synthesis through ganedge's runtime, beside torch eager of the same checkpoint), and the
synthesis half alone in each form (the grouped one can only run at its traced batch).

    python -m benchmarks.stylegan2_speed --out benchmarks/results/stylegan2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx
import torch

from benchmarks.starters import SynthesisStarter
from exports import export_generator
from exports.stylegan import stylegan_contract, trace_stylegan
from exports.torch_candidates import torch_candidates
from ganedge.bench.candidates import STYLEGAN_TRUNCATION, onnx_candidate
from ganedge.bench.report import machine_line
from ganedge.bench.timing import BenchConfig, BenchRow, Candidate, run_bench
from ganedge.contract import KEY_PROVENANCE
from ganedge.runtime.session import SessionSettings
from trainer.checkpoint import save_checkpoint
from trainer.config import ArchConfig
from trainer.models import build_generator

ARCH = ArchConfig(latent_dim=128, channels=3, image_size=64, base_channels=32, channel_max=256,
                  mapping_layers=4)


def build(out: Path) -> tuple[torch.nn.Module, Path]:
    """A 64×64 RGB StyleGAN2 (random weights, non-zero noise strengths and w_avg) + its ckpt."""
    torch.manual_seed(0)
    gen = build_generator("stylegan2", ARCH)
    with torch.no_grad():
        gen.mapping.w_avg.normal_()
        for name, p in gen.named_parameters():
            if name.endswith("noise_strength"):
                p.fill_(0.1)
    ckpt = save_checkpoint(out / "sg2-64.pt", "stylegan2", ARCH, gen, 0)
    return gen.eval(), ckpt


def grouped_file(gen: torch.nn.Module, batch: int, out: Path) -> Path:
    """The 'grouped' form traced at a fixed batch, with the same contract."""
    gen.set_modconv_impl("grouped")
    contract = stylegan_contract(gen)
    model = trace_stylegan(gen, contract, 17, fixed_batch=batch)
    gen.set_modconv_impl("activations")
    onnx.helper.set_model_props(model, {**contract.to_metadata(),
                                        KEY_PROVENANCE: json.dumps({"modconv": "grouped"})})
    path = out / f"sg2-64-grouped-b{batch}.onnx"
    onnx.save_model(model, str(path))
    return path


def synthesis_candidate(path: Path, label: str, threads: int | None) -> Candidate:
    return Candidate(label=label, model=path.name, precision="fp32", provider="cpu",
                     start=SynthesisStarter(path.resolve(), threads),
                     reference=label.endswith("activations"),
                     baseline=label.endswith("activations"))


def render(rows: list[BenchRow], against: str) -> list[str]:
    table = [f"| batch | candidate | p50 ms | images/s | × {against} | max abs vs reference |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        parity = "" if r.parity_max_abs is None else f"{r.parity_max_abs:.1e}"
        table.append(f"| {r.batch} | {r.label} | {r.p50_ms or float('nan'):.2f} | "
                     f"{r.images_per_s or float('nan'):.1f} | {r.speedup or float('nan'):.2f} | "
                     f"{parity} |" + (f" {r.reason}" if r.status != "ok" else ""))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stylegan2"))
    parser.add_argument("--batches", default="1,16")
    parser.add_argument("--budget", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gen, ckpt = build(args.out)
    files = {}
    for impl in ("activations", "matmul"):
        gen.set_modconv_impl(impl)
        files[impl] = export_generator(gen, args.out / f"sg2-64-{impl}.onnx", 128).path
    gen.set_modconv_impl("activations")
    batches = tuple(int(b) for b in args.batches.split(","))
    config = BenchConfig(batches=batches, budget_s=args.budget, rounds=2)
    settings = SessionSettings(threads=args.threads)
    end_to_end = [onnx_candidate(files["activations"], "cpu", label="ganedge (activations)",
                                 settings=settings, reference=True),
                  onnx_candidate(files["matmul"], "cpu", label="ganedge (matmul)",
                                 settings=settings),
                  *torch_candidates(ckpt, kinds=("eager",), threads=args.threads,
                                    truncation=STYLEGAN_TRUNCATION)]
    rows = run_bench(end_to_end, 128, config, on_progress=print)
    forms = []
    for batch in batches:
        grouped = grouped_file(gen, batch, args.out)
        candidates = [synthesis_candidate(files[impl], f"synthesis {impl}", args.threads)
                      for impl in ("activations", "matmul")]
        candidates.append(synthesis_candidate(grouped, "synthesis grouped", args.threads))
        forms += run_bench(candidates, 128, BenchConfig(batches=(batch,), budget_s=args.budget,
                                                        rounds=2), on_progress=print)
    threads = args.threads or "default"
    report = "\n".join([f"Machine: {machine_line()} (shared by other jobs); threads {threads}", "",
                        "End to end (mapping + synthesis):", "", *render(rows, "torch eager"),
                        "", "Synthesis half, per modulated-convolution form:", "",
                        *render(forms, "activations")])
    (args.out / "README.md").write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
