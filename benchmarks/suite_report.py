"""The benchmark suite's report (benchmarks.run): the PNG chart, the markdown section of
docs/benchmarks.md and the targets verdict. The per-run table itself is ganedge.bench.report's."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganedge.bench import OK, BenchRow, spreads_overlap
from ganedge.bench.report import flag_text, render_markdown
from ganedge.io.files import atomic_path

DOC_START = "<!-- bench:start -->"
DOC_END = "<!-- bench:end -->"


def _row(rows: Sequence[BenchRow], label: str, batch: int) -> BenchRow | None:
    return next((r for r in rows if r.label == label and r.batch == batch and r.status == OK),
                None)


Ratio = tuple[float, bool]  # (their p50 / ours, uncertain: the rounds' spreads overlap)


def _ratio(rows: Sequence[BenchRow], label: str, against: str, batch: int) -> Ratio | None:
    ours, theirs = _row(rows, label, batch), _row(rows, against, batch)
    if ours is None or theirs is None or not ours.p50_ms or not theirs.p50_ms:
        return None
    return theirs.p50_ms / ours.p50_ms, spreads_overlap(ours, theirs)


def _best_variant(rows: Sequence[BenchRow], batch: int, max_parity: float) -> BenchRow | None:
    ok = [r for r in rows if r.label.startswith("ganedge") and r.batch == batch and r.status == OK
          and (r.parity_max_abs or 0.0) <= max_parity]
    return min(ok, key=lambda r: r.p50_ms or float("inf"), default=None)


def _verdict(name: str, ratio: Ratio | None, target: float) -> str:
    if ratio is None:
        return f"- {name}: not measured"
    value, uncertain = ratio
    mark = "met" if value >= target else f"MISSED by {target / value:.2f}×"
    if uncertain:  # which side is faster is not settled by this run
        mark += " (uncertain: the rounds' spreads overlap)"
    return f"- {name}: {value:.2f}× (target ≥ {target:g}×): {mark}"


# Quality bound for "quality-preserving" reduced precision: 2/255 on the [-1, 1] scale ≈ one pixel
# level after rounding, since 1 level = 2/255.
QUALITY_MAX_ABS = 2 / 255 * 2


# the fp32 exports, as shipped (plain trace) and rewritten (`--optimize`), on ONNX Runtime and
# (with the openvino extra) on OpenVINO
FP32_LABELS = ("ganedge", "ganedge rewritten", "ganedge openvino", "ganedge openvino rewritten")


def targets(model: str, rows: Sequence[BenchRow], batches: Sequence[int]) -> list[str]:
    """The issue's targets for one model, each met or missed by how much."""
    lines = [f"**{model}**"]
    small, large = min(batches), max(batches)
    for fp32 in [label for label in FP32_LABELS if any(r.label == label for r in rows)]:
        lines.append(_verdict(f"{fp32} fp32 vs torch eager, batch {small}",
                              _ratio(rows, fp32, "torch eager", small), 2.0))
        lines.append(_verdict(f"{fp32} fp32 vs torch eager, batch {large}",
                              _ratio(rows, fp32, "torch eager", large), 1.5))
        worst = min((r for b in batches if (r := _ratio(rows, fp32, "torch eager", b))),
                    default=None, key=lambda r: r[0])
        lines.append(_verdict(f"{fp32} fp32 never slower than eager (worst batch)", worst, 1.0))
    best = _best_variant(rows, large, QUALITY_MAX_ABS)
    if best is not None:
        lines.append(_verdict(f"best quality-preserving variant ({best.label}) vs eager, "
                              f"batch {large}",
                              _ratio(rows, best.label, "torch eager", large), 3.0))
        for rival in ("torch compile", "torch bf16"):
            lines.append(_verdict(f"{best.label} vs {rival}, batch {large}",
                                  _ratio(rows, best.label, rival, large), 1.0))
    return lines


def markdown(report: dict[str, Any], rows_by_model: dict[str, list[BenchRow]]) -> str:
    """The docs section body: machine, ceilings, CLI cold start, one table per model, targets."""
    m = report["machine"]
    ceiling = report["ceilings_gflops"]
    out = [
        f"Measured {m['date_utc'][:10]} on {m['cpu']} ({m['physical_cores']} physical cores, flags "
        f"{flag_text(m)}), Python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"torch {m.get('torch', '?')}, numpy {m['numpy']}; {report['mode']} mode, "
        f"{report['threads']} thread(s) for torch and ganedge, each candidate alone in its own "
        f"worker process, {report['config']['rounds']} round(s) of "
        f"{report['config']['budget_s']} s timed per row, medians.",
        "",
        f"fp32 matmul ceiling ({ceiling['size']}², {report['threads']} thread(s)): torch "
        f"{ceiling['torch_fp32']:.0f} GFLOP/s, numpy {ceiling['numpy_fp32']:.0f} GFLOP/s; torch "
        f"bf16 {ceiling['torch_bf16']:.0f} GFLOP/s. Rows' GFLOP/s count Conv/ConvTranspose/Gemm "
        "FLOPs.",
        "",
        "CLI cold start (fresh process, median): "
        + ", ".join(f"`{k}` {v:.0f} ms" for k, v in report["cli_cold_start_ms"].items()) + ".",
        "",
    ]
    for model, rows in rows_by_model.items():
        out += [f"#### {model}", "", render_markdown(rows), ""]
        best = max((r.gflops_per_s or 0.0 for r in rows
                    if r.status == OK and r.precision == "fp32"), default=0.0)
        out += [f"Best fp32 GFLOP/s {best:.0f} = {best / ceiling['torch_fp32']:.0%} of the fp32 "
                "matmul ceiling.", ""]
        out += targets(model, rows, report["config"]["batches"]) + [""]
    if report["notes"]:
        out += ["Notes:", ""] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(out)


def update_docs(page: Path, body: str) -> None:
    """Replace the text between the bench markers of ``page`` with ``body``."""
    text = page.read_text()
    pattern = re.compile(re.escape(DOC_START) + ".*?" + re.escape(DOC_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{page}: no {DOC_START} … {DOC_END} markers to fill")
    text = pattern.sub(lambda _: f"{DOC_START}\n{body}\n{DOC_END}", text)
    with atomic_path(page, "docs page") as tmp:
        tmp.write_text(text)


def chart(rows_by_model: dict[str, list[BenchRow]], path: Path, caption: str) -> None:
    """Speed-up over torch eager per variant and batch size, one panel per model; ``caption``
    (the CPU and its flags) goes on top, since the figures only hold for that machine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows_by_model), figsize=(7 * len(rows_by_model), 5.5),
                             squeeze=False)
    for ax, (model, rows) in zip(axes[0], rows_by_model.items()):
        _panel(ax, model, rows)
    fig.suptitle(textwrap.fill(caption, 60 * len(rows_by_model)), fontsize=8)
    fig.tight_layout()
    with atomic_path(path, "chart") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def _panel(ax: Any, model: str, rows: list[BenchRow]) -> None:
    from matplotlib import colormaps
    from matplotlib.ticker import FuncFormatter, LogLocator

    labels = list(dict.fromkeys(r.label for r in rows))
    batches = sorted({r.batch for r in rows})
    width = 0.8 / len(labels)
    colors = colormaps["tab20"].colors  # 20 distinct colours: the suite has about 15 candidates
    for i, label in enumerate(labels):
        values = [next((r.speedup or 0.0 for r in rows if r.label == label and r.batch == b), 0.0)
                  for b in batches]  # 0: failed row, drawn as a missing bar marked ✗
        bars = ax.bar([x + i * width for x in range(len(batches))], values, width, label=label,
                      color=colors[i % len(colors)], hatch="///" if "openvino" in label else None,
                      edgecolor="white", linewidth=0.3)
        ax.bar_label(bars, labels=[f"{v:.2g}" if v else "✗" for v in values], fontsize=5,
                     rotation=90, padding=1)
    # ratios span 0.01× (emulated bf16) to 100×: a log axis keeps both ends readable
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(batches))],
                  [f"batch {b}" for b in batches])
    ax.set_ylabel("speed-up over torch eager (p50)")
    ax.set_title(model)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
