"""``ganedge export`` through the real CLI: options, provenance, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tests.conftest import run_cli


def test_weights_and_provenance_reach_info(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "raw.onnx"
    run_cli("export", str(trained_run / "ckpt.pt"), "-o", str(out), "--weights", "raw")
    report = json.loads(run_cli("info", str(out), "--json").stdout)
    prov = report["provenance"]
    assert prov["weights"] == "raw" and prov["precision"] == "fp32" and prov["opset"] == 17
    assert prov["exporter"] == "torchscript" and len(prov["checkpoint_sha256"]) == 64
    assert report["parity"]["ok"] and [b["batch"] for b in report["parity"]["batches"]] == [1, 3, 64]


def _fails(*args: str) -> str:
    result = run_cli("export", *args, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_unknown_architecture_lists_known_ones(trained_run: Path, tmp_path: Path) -> None:
    ckpt = torch.load(trained_run / "ckpt.pt", weights_only=True)
    ckpt["arch"] = "nope"
    torch.save(ckpt, tmp_path / "ckpt.pt")
    assert "unknown architecture 'nope': known ones are" in _fails(str(tmp_path / "ckpt.pt"))
    assert not (tmp_path / "model.onnx").exists()


def test_newer_checkpoint_format_asks_for_upgrade(trained_run: Path, tmp_path: Path) -> None:
    ckpt = torch.load(trained_run / "ckpt.pt", weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, tmp_path / "ckpt.pt")
    assert "upgrade ganedge" in _fails(str(tmp_path / "ckpt.pt"))


def test_unwritable_output_folder(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "missing" / "m.onnx"))
    assert "does not exist: create it first" in line


def test_unsupported_precision_is_rejected(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--precision", "int8")
    assert line == "error: --precision: must be one of ['fp32'] in this version (got 'int8')"
    assert not list(tmp_path.iterdir())


def test_bad_weights_choice(trained_run: Path, tmp_path: Path) -> None:
    line = _fails(str(trained_run / "ckpt.pt"), "-o", str(tmp_path / "m.onnx"), "--weights", "best")
    assert line == "error: --weights: must be one of ['ema', 'raw'] (got 'best')"


def test_torch_missing_gives_install_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None; sys.argv = ['ganedge', 'export', 'x.pt'];"
            "from ganedge.cli import main; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip() == ("error: `ganedge export` needs PyTorch (torch is missing): "
                                     "pip install 'ganedge[train]'")
