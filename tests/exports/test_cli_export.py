"""``ganedge export`` through the real CLI: options, provenance, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import run_cli


@pytest.mark.slow
def test_weights_and_provenance_reach_info(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw.onnx"
    result = json.loads(run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(out),
                                "--weights", "raw", "--json").stdout)
    assert result["path"] == str(out) and result["parity_ok"] and result["ort_path"] is None
    assert [step["name"] for step in result["steps"]][-1] == "write"
    report = json.loads(run_cli("info", str(out), "--json").stdout)
    prov = report["provenance"]
    assert prov["weights"] == "raw" and prov["precision"] == "fp32" and prov["opset"] == 17
    assert prov["exporter"] == "torchscript" and len(prov["checkpoint_sha256"]) == 64
    assert report["parity"]["ok"]
    assert [b["batch"] for b in report["parity"]["batches"]] == [1, 3, 64]


def _fails(*args: str) -> str:
    result = run_cli("export", *args, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.slow
def test_unknown_architecture_lists_known_ones(trained_run: Path, tmp_path: Path) -> None:
    ckpt = torch.load(trained_run / "ckpt.pt", weights_only=True)
    ckpt["arch"] = "nope"
    torch.save(ckpt, tmp_path / "ckpt.pt")
    assert "unknown architecture 'nope': known ones are" in _fails(str(tmp_path / "ckpt.pt"))
    assert not (tmp_path / "model.onnx").exists()


@pytest.mark.slow
def test_newer_checkpoint_format_asks_for_upgrade(trained_run: Path, tmp_path: Path) -> None:
    ckpt = torch.load(trained_run / "ckpt.pt", weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, tmp_path / "ckpt.pt")
    assert "upgrade ganedge" in _fails(str(tmp_path / "ckpt.pt"))


@pytest.mark.slow
def test_unwritable_output_folder(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "missing" / "m.onnx"))
    assert "does not exist: create it first" in line


@pytest.mark.slow
def test_unknown_precision_and_opset_are_rejected(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"),
                  "--precision", "bf16")
    assert line == ("error: Invalid value for '--precision': 'bf16' is not one of "
                    "'fp32', 'fp16', 'int8'. (see `python -m ganedge export -h`)")
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--opset", "9")
    assert line == "error: --opset: must be in 11..20 (got 9)"
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--grade", "digits")
    assert line.startswith("error: --grade: grades a reduced-precision variant against fp32")
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--precision",
                  "int8", "--grade", "mnist")
    assert line.startswith("error: --grade: no dataset, folder or .npz file named 'mnist'")
    assert not list(tmp_path.iterdir())


# An architecture whose exported graph computes something else than its eager forward: the
# mismatch export must catch (a model that runs but is wrong).
DRIFTING = """
import sys
import torch
from trainer.checkpoint import save_checkpoint
from trainer.config import ArchConfig
from trainer.models import register_architecture
from trainer.models.dcgan import dcgan_generator


class Drifting(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.g = dcgan_generator(cfg)

    def forward(self, z):
        out = self.g(z)
        return out + 0.01 if torch.onnx.is_in_onnx_export() else out


register_architecture("drifting", Drifting)
cfg = ArchConfig(latent_dim=8, image_size=16, base_channels=4)
save_checkpoint(sys.argv[1], "drifting", cfg, Drifting(cfg), step=0)
from ganedge.cli import app
app(sys.argv[2:])
"""


def _export_drifting(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    ckpt = str(tmp_path / "ckpt.pt")
    return subprocess.run([sys.executable, "-c", DRIFTING, ckpt, "export", ckpt, *args],
                          capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})


@pytest.mark.slow
def test_parity_failure_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = _export_drifting(tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: parity: output 'images' at batch 1 differs from PyTorch by ")
    assert "tolerance 0.0001" in line and line.endswith("pass --allow-mismatch to write it anyway")
    # the report shows what passed and which step failed
    assert "✓ trace" in result.stdout and "✗ parity" in result.stdout
    assert not (tmp_path / "model.onnx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


@pytest.mark.slow
def test_allow_mismatch_writes_and_records_the_failure(tmp_path: Path) -> None:
    result = _export_drifting(tmp_path, "--allow-mismatch", "--no-optimize")
    assert result.returncode == 0, result.stderr
    assert "PARITY MISMATCH" in result.stdout and "! parity" in result.stdout
    report = json.loads(run_cli("info", str(tmp_path / "model.onnx"), "--json").stdout)
    assert report["parity"]["ok"] is False


@pytest.mark.slow
def test_report_lists_every_step(trained_run: Path, tmp_path: Path) -> None:
    out = run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"),
                  "--pixels", "uint8").stdout
    steps = [line.split()[1] for line in out.splitlines() if line[:1] in "✓!"]
    assert steps == ["prepare", "trace", "parity", "uint8", "write"]
    assert "batch axis symbolic" in out and "uint8 NHWC 1×32×32" in out


@pytest.mark.slow
def test_bad_weights_choice(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--weights", "best")
    assert line == ("error: Invalid value for '--weights': 'best' is not one of "
                    "'ema', 'raw'. (see `python -m ganedge export -h`)")


def test_torch_missing_gives_install_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['ganedge', 'export', 'x.pt'];"
            "from ganedge.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip() == ("error: `ganedge export` needs the torch package, which is "
                                     "not installed: pip install 'ganedge[train]' brings it")
