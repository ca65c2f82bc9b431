"""Build the StyleGAN2-ADA pickle-import parity fixture with NVlabs' own code (run once, by hand).

Holds no NVIDIA code: it imports their modules from a checkout given on the command line, builds
small generators with random weights, and writes, per fixture, only data:

  <name>_network.json    each network's module tree: class names, constructor args/kwargs and the
                         plain attributes of every module (the fields a persistence record holds)
  <name>_tensors.npz     every parameter and buffer, keyed "<network>/<dotted.name>"
  <name>_reference.npz   NVlabs' outputs (ws, float images; noise_mode='const') for fixed z/labels

The tests rebuild a pickle in NVlabs' persistence layout from these files (with a stub module
source), so neither NVIDIA source nor a pickle is committed.

    python scripts/make_nvlabs_sg2_fixture.py --nvlabs /tmp/nvlabs --out tests/exports/data
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

SEEDS = (0, 1, 2, 3, 4)
PSIS = (1.0, 0.7, 0.5)
CUTOFF = (0.5, 2)  # (psi, truncation_cutoff)
MIX_ROWS, MIX_COLS, MIX_STYLES = (0, 1), (2, 3), (0, 1, 2)
SMALL = dict(z_dim=32, w_dim=32, img_resolution=32, img_channels=3)
MAPPING = dict(num_layers=2)
SYNTHESIS = dict(channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=256)
DISCRIMINATOR = dict(channel_base=128, channel_max=16, num_fp16_res=0, conv_clamp=256)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nvlabs", required=True, help="checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--shim", help="folder with stand-ins for modules their code imports")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    sys.path[:0] = [p for p in (args.shim, args.nvlabs) if p]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, c_dim in (("sg2ada_uncond", 0), ("sg2ada_cond", 10)):
        write_fixture(args.out, name, c_dim)


def build(c_dim: int, seed: int) -> tuple[Any, Any, Any]:
    """G, G_ema and D as a StyleGAN2-ADA snapshot holds them: random weights, then the fields that
    training moves away from their initial values (noise strengths, w_avg, biases) made non-zero."""
    import dnnlib  # type: ignore[import-not-found]
    from training.networks import Discriminator, Generator  # type: ignore[import-not-found]

    torch.manual_seed(seed)
    kwargs = dict(
        SMALL,
        c_dim=c_dim,
        mapping_kwargs=dnnlib.EasyDict(MAPPING),
        synthesis_kwargs=dnnlib.EasyDict(SYNTHESIS),
    )
    nets = []
    for _ in ("G", "G_ema"):
        G = Generator(**copy.deepcopy(kwargs))
        with torch.no_grad():
            for pname, p in G.named_parameters():
                if pname.endswith("noise_strength"):
                    p.copy_(torch.randn([]) * 0.3)
                elif pname.endswith("bias"):
                    p.add_(torch.randn_like(p) * 0.1)
            G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg) * 0.5)
        nets.append(G)
    D = Discriminator(
        c_dim=c_dim,
        img_resolution=SMALL["img_resolution"],
        img_channels=SMALL["img_channels"],
        **DISCRIMINATOR,
    )
    # as the training loop snapshots them: copies in eval mode without gradients
    G, G_ema = (copy.deepcopy(n).eval().requires_grad_(False) for n in nets)
    return G, G_ema, copy.deepcopy(D).eval().requires_grad_(False)


def write_fixture(out: Path, name: str, c_dim: int) -> None:
    G, G_ema, D = build(c_dim, seed=1234 + c_dim)
    tree, tensors = {}, {}
    for net_name, net in (("G", G), ("D", D), ("G_ema", G_ema)):
        tree[net_name] = describe(net, net_name, "", tensors)
    (out / f"{name}_network.json").write_text(json.dumps(tree, separators=(",", ":")) + "\n")
    np.savez_compressed(out / f"{name}_tensors.npz", **tensors)
    np.savez_compressed(out / f"{name}_reference.npz", **references(G, G_ema, c_dim))
    print(f"{name}: {len(tensors)} tensors, num_ws={G_ema.num_ws}")


def describe(module: Any, net: str, prefix: str, tensors: dict[str, np.ndarray]) -> dict:
    """One persistence record's content: what __reduce__ puts into meta (class name, state)."""
    node: dict[str, Any] = {"class_name": type(module).__name__, "attrs": [], "children": []}
    for key, value in module.__dict__.items():
        kind = "odict" if type(value) is collections.OrderedDict else "dict"
        if key in ("_parameters", "_buffers"):
            for tname, t in value.items():
                if t is not None:
                    tensors[f"{net}/{prefix}{tname}"] = t.detach().cpu().numpy()
            node["attrs"].append([key, {"tensors": list(value), "kind": kind}])
        elif key == "_modules":
            for cname, child in value.items():
                node["children"].append([cname, describe(child, net, f"{prefix}{cname}.", tensors)])
            node["attrs"].append([key, {"modules": kind}])
        else:
            node["attrs"].append([key, tag(value)])
    return node


def tag(value: Any) -> Any:
    """JSON with the Python types kept (tuple, set, OrderedDict, EasyDict, numpy scalars)."""
    if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
        return value
    if isinstance(value, np.generic):
        return {"np": value.dtype.str, "value": value.item()}
    if isinstance(value, (tuple, list, set)):
        kind = {tuple: "tuple", list: "list", set: "set"}[type(value)]
        return {kind: [tag(v) for v in value]}
    if isinstance(value, dict):
        kind = {dict: "dict", collections.OrderedDict: "odict"}.get(type(value), "easydict")
        if kind == "easydict" and type(value).__name__ != "EasyDict":
            raise TypeError(f"unexpected dict type {type(value)}")
        return {kind: [[k, tag(v)] for k, v in value.items()]}
    raise TypeError(f"unexpected attribute type {type(value)}: {value!r}")


@torch.no_grad()
def references(G: Any, G_ema: Any, c_dim: int) -> dict[str, np.ndarray]:
    z = np.stack([np.random.RandomState(s).randn(G.z_dim) for s in SEEDS]).astype(np.float32)
    labels = np.array([s % max(c_dim, 1) for s in SEEDS], dtype=np.int64)
    ref: dict[str, np.ndarray] = {"z": z, "labels": labels}

    def run(net: Any, idx: list[int], psi: float, cutoff: int | None = None) -> tuple:
        zt = torch.from_numpy(z[idx])
        c = None
        if c_dim:  # one-hot class labels, as NVlabs' generate.py --class builds them
            c = torch.nn.functional.one_hot(torch.from_numpy(labels[idx]), c_dim).float()
        ws = net.mapping(zt, c, truncation_psi=psi, truncation_cutoff=cutoff)
        img = net.synthesis(ws, noise_mode="const")
        return ws.numpy(), img.numpy()

    # One batch of all seeds: NVlabs' per-seed (batch 1) outputs equal these within 6e-6.
    every = list(range(len(SEEDS)))
    for psi in PSIS:
        key = f"psi{psi:g}"
        ref[f"ws_{key}"], ref[f"img_{key}"] = run(G_ema, every, psi)
    ref["ws_cutoff"], ref["img_cutoff"] = run(G_ema, every, *CUTOFF)
    ref["cutoff"] = np.array(CUTOFF, dtype=np.float32)
    ref["raw_ws"], ref["raw_img"] = run(G, every, 1.0)
    ws = torch.from_numpy(ref["ws_psi1"])
    mixed = []
    for r in MIX_ROWS:
        for c in MIX_COLS:
            w = ws[r].clone()
            w[list(MIX_STYLES)] = ws[c][list(MIX_STYLES)]
            mixed.append(w)
    ref["mix_ws"] = torch.stack(mixed).numpy()
    ref["mix_img"] = G_ema.synthesis(torch.stack(mixed), noise_mode="const").numpy()
    ref["mix_rows"], ref["mix_cols"] = np.array(MIX_ROWS), np.array(MIX_COLS)
    ref["mix_styles"] = np.array(MIX_STYLES)
    return ref


if __name__ == "__main__":
    main()
