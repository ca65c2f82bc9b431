"""``ganedge info``: what an exported model is, where it came from, and what runs it."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from ganedge.cli import options as opt
from ganedge.cli.common import JSON, QUIET, VERSION, one_line_errors
from ganedge.cli.sections import render_sections
from ganedge.runtime.model import GeneratorModel

# contract fields that only a StyleGAN file (num_ws > 0) uses, and the training config's fields
# that only the stylegan2 architecture reads: shown for those models only
STYLEGAN_CONTRACT_FIELDS = ("num_ws", "w_dim", "w_avg", "ws_input_name", "ws_output_name",
                            "noise_mode")
STYLEGAN_ARCH_FIELDS = ("w_dim", "mapping_layers", "channel_max")


@one_line_errors
def info(
    model: Path = opt.MODEL,
    provider: opt.Provider = opt.PROVIDER,
    threads: int = opt.THREADS,
    strict_provider: bool = opt.STRICT_PROVIDER,
    latent_dim: int = opt.LATENT_DIM,
    as_json: bool = JSON,
    quiet: bool = QUIET,
    version: bool = VERSION,
) -> None:
    """Print a model's contract, provenance, parity, inputs/outputs and the provider in use."""
    gen = opt.open_model(model, provider, threads, strict_provider, latent_dim, quiet=quiet)
    report = model_report(gen)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif not quiet:
        typer.echo("\n".join(render_sections(for_people(report, gen))))


def model_report(gen: GeneratorModel) -> dict[str, Any]:
    """The facts ``ganedge info`` prints about a loaded model, as plain data."""
    meta = gen.session.get_modelmeta()
    return {
        "file": str(gen.path),
        "size_bytes": gen.path.stat().st_size,
        "producer": meta.producer_name,
        "contract": asdict(gen.contract),
        "inputs": {i.name: f"{i.type} {_shape(i.shape)}" for i in gen.session.get_inputs()},
        "outputs": {o.name: f"{o.type} {_shape(o.shape)}" for o in gen.session.get_outputs()},
        "providers": gen.providers,
        "threads": gen.threads,
        "provenance": gen.provenance,
        "parity": gen.parity,
    }


def for_people(report: dict[str, Any], gen: GeneratorModel) -> dict[str, Any]:
    """``report`` without what does not apply to this model (StyleGAN fields of a direct model,
    the label input's name of an unconditional one) or repeats (the fp32 parity that the parity
    section shows), and with w_avg as its length; ``--json`` keeps everything."""
    c = gen.contract
    contract = dict(report["contract"])
    if c.is_stylegan:
        contract["w_avg"] = f"{len(c.w_avg)} values"
    else:
        for name in STYLEGAN_CONTRACT_FIELDS:
            contract.pop(name)
    if not c.conditional:
        contract.pop("label_input_name")
    provenance = dict(report["provenance"])
    if provenance.get("fp32_parity") == report["parity"]:
        del provenance["fp32_parity"]
    arch_config = provenance.get("arch_config")
    if isinstance(arch_config, dict) and provenance.get("arch") != "stylegan2":
        provenance["arch_config"] = {k: v for k, v in arch_config.items()
                                     if k not in STYLEGAN_ARCH_FIELDS}
    return {**report, "contract": contract, "provenance": provenance}


def _shape(shape: list) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"
