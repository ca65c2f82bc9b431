"""A corpus of hostile and odd ONNX generators, built with onnx.helper (no committed binaries),
and a driver that runs every model-reading command of the CLI on each.

Each case is a graph (tiny: z (B, 8) → MatMul → Tanh → (B, 1, 4, 4)) with one thing wrong in its
contract, its graph, or the numbers it computes. ``python -m tests.ganedge.hostile DIR`` builds
the corpus in DIR, runs ``sample``, ``walk``, ``info``, ``bench`` and ``eval`` on every file and the
absurd-argument cases on a sound file, all in one process (typer's CliRunner), and prints one JSON
object: per case and command the exit code, stderr, and whether a traceback escaped; plus this
process's peak RSS. The test runs it as a subprocess so that the peak is the children's.
"""

from __future__ import annotations

import json
import resource
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ganedge.contract import (
    FORMAT_VERSION,
    KEY_CONTRACT,
    KEY_FORMAT_VERSION,
    KEY_PROVENANCE,
    ModelContract,
)

LATENT, SIZE = 8, 4
STATIC_BATCHES = {"static_batch": "1", "static_batch_bare": "3"}  # files with a fixed batch
Dim = int | str


@dataclass(frozen=True)
class Graph:
    """What the graph declares and computes; the defaults make a sound generator."""

    z_dims: tuple[Dim, ...] = ("batch", LATENT)
    z_type: int = TensorProto.FLOAT
    out_dims: tuple[Dim, ...] | None = ("batch", 1, SIZE, SIZE)  # None: declared rank-less
    out_shape: tuple[int, ...] = (-1, 1, SIZE, SIZE)  # what Reshape really makes
    hidden_shape: bool = False  # compute Reshape's target in the graph: known only at run time
    label_input: bool = False
    poison: float | None = None  # multiply the output by this (nan, inf) after the tanh
    activation: str = "Tanh"
    z_name: str = "z"
    out_name: str = "images"


def build(path: Path, graph: Graph = Graph(), props: dict[str, str] | None = None) -> Path:
    """Write the generator ``graph`` with metadata ``props`` (default: a sound contract)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((LATENT, SIZE * SIZE)) * 0.6)
                                     .astype(np.float32), "W"),
             numpy_helper.from_array(np.array(graph.out_shape, np.int64), "shape")]
    inputs = [helper.make_tensor_value_info(graph.z_name, graph.z_type, list(graph.z_dims))]
    z = graph.z_name
    nodes = []
    if graph.z_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [z], ["zf"], to=TensorProto.FLOAT))
        z = "zf"
    nodes += [helper.make_node("MatMul", [z, "W"], ["h"]),
              helper.make_node(graph.activation, ["h"], ["t"])]
    last = "t"
    if graph.label_input:
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
        nodes += [helper.make_node("Cast", ["label"], ["lf"], to=TensorProto.FLOAT),
                  helper.make_node("Unsqueeze", ["lf", "axis"], ["lu"]),
                  helper.make_node("Mul", [last, "lu"], ["tl"])]
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
        last = "tl"
    if graph.poison is not None:
        inits.append(numpy_helper.from_array(np.array(graph.poison, np.float32), "poison"))
        nodes.append(helper.make_node("Mul", [last, "poison"], ["p"]))
        last = "p"
    if graph.hidden_shape:
        inits.append(numpy_helper.from_array(np.array([0], np.int64), "zero"))
        nodes += [helper.make_node("Shape", [z], ["zs"]),
                  helper.make_node("Mul", ["zs", "zero"], ["zz"]),
                  helper.make_node("ReduceSum", ["zz"], ["z0"], keepdims=1),
                  helper.make_node("Add", ["shape", "z0"], ["shape_run"])]
    nodes.append(helper.make_node("Reshape", [last, "shape_run" if graph.hidden_shape
                                              else "shape"], [graph.out_name]))
    out = helper.make_tensor_value_info(graph.out_name, TensorProto.FLOAT,
                                        None if graph.out_dims is None else list(graph.out_dims))
    model = helper.make_model(helper.make_graph(nodes, "hostile", inputs, [out], inits),
                              ir_version=8, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, sound_props() if props is None else props)
    onnx.save(model, str(path))
    return path


def sound_props(**contract: Any) -> dict[str, str]:
    """Metadata of a sound contract with raw JSON values overridden (1e9, true, 64.0 …)."""
    fields = asdict(ModelContract(latent_dim=LATENT, channels=1, height=SIZE, width=SIZE))
    return {KEY_FORMAT_VERSION: "1", KEY_CONTRACT: json.dumps({**fields, **contract})}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Case:
    """One hostile file: how to build it, what the error line must contain, and whether the
    problem shows only when the graph runs (``info`` then succeeds)."""

    make: Callable[[Path], Path]
    message: str
    at_run: bool = False


CASES: dict[str, Case] = {
    "latent_dim_1e9": Case(lambda p: build(p, props=sound_props(latent_dim=10**9)),
                           "contract.latent_dim: must be in"),
    "side_1e5": Case(lambda p: build(p, props=sound_props(height=10**5, width=10**5)),
                     "contract.height: must be in"),
    "classes_1e12": Case(lambda p: build(p, props=sound_props(num_classes=10**12)),
                         "contract.num_classes: must be in"),
    "latent_dim_float": Case(lambda p: build(p, props=sound_props(latent_dim=8.0)),
                             "contract.latent_dim: must be int (got 8.0)"),
    "latent_dim_true": Case(lambda p: build(p, props=sound_props(latent_dim=True)),
                            "contract.latent_dim: must be int (got True)"),
    "channels_string": Case(lambda p: build(p, props=sound_props(channels="1")),
                            "contract.channels: must be int"),
    "deep_provenance": Case(lambda p: build(p, props={**sound_props(),
                                                      KEY_PROVENANCE: _deep(100_000)}),
                            "nested deeper than 32 levels"),
    "huge_provenance": Case(lambda p: build(p, props={
        **sound_props(), KEY_PROVENANCE: json.dumps({"x": "a" * 2_000_000})}),
        "characters of JSON (at most"),
    "malformed_json": Case(lambda p: build(p, props={**sound_props(), KEY_CONTRACT: "{no"}),
                           "malformed JSON"),
    "format_newer": Case(lambda p: build(p, props={**sound_props(), KEY_FORMAT_VERSION: "99"}),
                         f"format 99, this ganedge reads up to {FORMAT_VERSION}"),
    "format_true": Case(lambda p: build(p, props={**sound_props(), KEY_FORMAT_VERSION: "true"}),
                        "not an integer"),
    "unknown_field": Case(lambda p: build(p, props=sound_props(evil="x")),
                          "unknown fields ['evil']"),
    "input_name": Case(lambda p: build(p, Graph(z_name="latent")),
                       "the contract names input 'z', the graph's inputs are ['latent']"),
    "output_name": Case(lambda p: build(p, Graph(out_name="pixels")),
                        "the contract names output 'images'"),
    "classes_no_label": Case(lambda p: build(p, props=sound_props(num_classes=10)),
                             "the contract names input 'label'"),
    "label_no_classes": Case(lambda p: build(p, Graph(label_input=True)),
                             "a class-label input needs num_classes > 0"),
    "height_mismatch": Case(lambda p: build(p, props=sound_props(height=8)),
                            "axis 2 is 4 in the graph, 8 in the contract"),
    "channels_mismatch": Case(lambda p: build(p, props=sound_props(channels=3)),
                              "axis 1 is 1 in the graph, 3 in the contract"),
    "latent_mismatch": Case(lambda p: build(p, props=sound_props(latent_dim=16)),
                            "axis 1 is 8 in the graph, 16 in the contract"),
    "uint8_on_float": Case(lambda p: build(p, props=sound_props(output_dtype="uint8",
                                                                output_layout="NHWC")),
                           "is tensor(float) in the graph, tensor(uint8) in the contract"),
    "input_double": Case(lambda p: build(p, Graph(z_type=TensorProto.DOUBLE)),
                         "is tensor(double) in the graph, tensor(float) in the contract"),
    "output_rank": Case(lambda p: build(p, Graph(out_dims=("batch", SIZE * SIZE),
                                                 out_shape=(-1, SIZE * SIZE))),
                        "has rank 2 in the graph, 4 in the contract"),
    "batch_1e6": Case(lambda p: build(p, Graph(z_dims=(10**6, LATENT),
                                               out_dims=(10**6, 1, SIZE, SIZE))),
                      "fixed batch is 1,000,000"),
    "shape_lies": Case(lambda p: build(p, Graph(out_dims=("b", "c", "h", "w"),
                                                out_shape=(-1, 1, 2, 8), hidden_shape=True)),
                       "the contract says float32 (", at_run=True),
    "graph_fails": Case(lambda p: build(p, Graph(out_dims=("b", "c", "h", "w"),
                                                 out_shape=(-1, 1, 5, 5), hidden_shape=True)),
                        "the graph failed to run", at_run=True),
    "nan_output": Case(lambda p: build(p, Graph(poison=float("nan"))), "NaN/Inf", at_run=True),
    "inf_output": Case(lambda p: build(p, Graph(poison=float("inf"))), "NaN/Inf", at_run=True),
    "no_contract": Case(lambda p: build(p, props={}), "no ganedge contract"),
    "not_onnx": Case(lambda p: (p.write_bytes(b"\x08\x07garbage" * 100), p)[1],
                     "is not a loadable ONNX model"),
}


def build_corpus(folder: Path) -> dict[str, Path]:
    """Every case's file in ``folder``, plus the sound model and the handled odd ones."""
    files = {name: case.make(folder / f"{name}.onnx") for name, case in CASES.items()}
    files["sound"] = build(folder / "sound.onnx")
    files["static_batch"] = build(folder / "static_batch.onnx",
                                  Graph(z_dims=(1, LATENT), out_dims=(1, 1, SIZE, SIZE)))
    files["static_batch_bare"] = build(folder / "static_batch_bare.onnx",
                                       Graph(z_dims=(3, LATENT), out_dims=(3, 1, SIZE, SIZE)), {})
    files["sigmoid"] = build(folder / "sigmoid.onnx", Graph(activation="Sigmoid"),
                             sound_props(output_range="0,1"))
    return files


def commands(model: Path, out: Path) -> dict[str, list[str]]:
    """One quick invocation of every model-reading command on ``model`` (a third-party file,
    named ``*_bare``, gets its latent size)."""
    m = str(model)
    bare = ["--latent-dim", str(LATENT)] if model.stem.endswith("_bare") else []
    return {
        "sample": ["sample", m, "-n", "3", "-o", str(out / "s.png"), "--no-progress", *bare],
        "walk": ["walk", m, "--frames", "2", "-o", str(out / "w.gif"), "--no-progress", *bare],
        "info": ["info", m, *bare],
        "bench": ["bench", m, "--batch", STATIC_BATCHES.get(model.stem, "1,2"),
                  "--budget", "0.001", "--provider", "cpu", *bare],
        "eval": ["eval", m, "-n", "8", *bare],
    }


def absurd_arguments(model: Path, out: Path) -> dict[str, list[str]]:
    """Sizes and numbers a hostile user (or a web form) might pass, on a sound model."""
    m, png = str(model), str(out / "a.png")
    return {
        "n_1e12": ["sample", m, "-n", str(10**12), "-o", png],
        "seeds_1e12": ["sample", m, "--seeds", f"0-{10**12}", "--outdir", str(out / "d")],
        "grid_1e8": ["sample", m, "-n", str(10**8), "-o", png],
        "seed_huge": ["sample", m, "--seed", str(2**64), "-n", "2", "-o", png],
        "threads_1e5": ["sample", m, "-n", "2", "--threads", "100000", "-o", png],
        "suffix_txt": ["sample", m, "-n", "2", "-o", str(out / "a.txt")],
        "no_suffix": ["sample", m, "-n", "2", "-o", str(out / "noext")],
        "batch_size_1e9": ["sample", m, "-n", "2", "--batch-size", str(10**9), "-o", png],
        "walk_frames_1e5": ["walk", m, "--frames", "100000", "-o", str(out / "w.gif")],
        "walk_seeds_1e5": ["walk", m, "--seeds", "0-100000", "-o", str(out / "w.gif")],
        "walk_grid_1e5": ["walk", m, "--grid", "100000", "-o", str(out / "w.gif")],
        "walk_scale_1e5": ["walk", m, "--scale", "100000", "-o", str(out / "w.gif")],
        "walk_fps_nan": ["walk", m, "--fps", "nan", "-o", str(out / "w.gif")],
        "walk_fps_tiny": ["walk", m, "--fps", "0.0001", "-o", str(out / "w.gif")],
        "bench_batch_1e8": ["bench", m, "--batch", str(10**8)],
        "bench_budget_nan": ["bench", m, "--budget", "nan"],
        "bench_threads_1e5": ["bench", m, "--threads", "100000"],
        "eval_n_1e12": ["eval", m, "-n", str(10**12)],
    }


def run_all(folder: Path) -> dict[str, Any]:
    """Build the corpus in ``folder`` and run every command on every case, in this process."""
    from tests.ganedge.conftest import invoke

    files = build_corpus(folder)
    out = folder / "out"
    out.mkdir()
    results: dict[str, Any] = {"files": {}, "arguments": {}}
    for name, path in files.items():
        results["files"][name] = {cmd: _outcome(invoke(*args))
                                  for cmd, args in commands(path, out).items()}
    for name, args in absurd_arguments(files["sound"], out).items():
        results["arguments"][name] = _outcome(invoke(*args))
    results["maxrss_kb"] = max(_own_peak_kb(),
                               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return results


def _own_peak_kb() -> int:
    """This process's peak RSS. Not RUSAGE_SELF: Linux carries the parent's peak across fork+exec
    into the child's ru_maxrss, so a child of a 2 GB pytest process would report 2 GB. VmHWM
    belongs to this process's own address space. (Bench's worker processes, its children, are
    spawned from this small process, so their RUSAGE_CHILDREN figure is theirs.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _outcome(result: Any) -> dict[str, Any]:
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    return {"exit": result.exit_code, "stderr": result.stderr,
            "traceback": repr(result.exception) if escaped else None}


if __name__ == "__main__":
    print(json.dumps(run_all(Path(sys.argv[1]))))
