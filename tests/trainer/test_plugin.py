"""The plugin API: the docs example runs, entry points register third-party entries, export hook."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ganedge.errors import ConfigError
from trainer import ArchConfig, build_generator, save_generator

DOC = Path(__file__).parents[2] / "docs" / "plugin.md"


def test_docs_example_runs_and_exports(tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert len(code.splitlines()) <= 25
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "latent_dim=8" in result.stdout and (tmp_path / "tiny.onnx").is_file()


def test_entry_points_add_a_loss(tmp_path: Path) -> None:
    (tmp_path / "myplugin.py").write_text(textwrap.dedent("""
        from trainer.losses import GanLoss, d_hinge, g_critic
        MY_LOSS = GanLoss(d_hinge, g_critic)
    """))
    meta = tmp_path / "myplugin-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (meta / "entry_points.txt").write_text("[ganedge.losses]\nmine = myplugin:MY_LOSS\n")
    code = "from trainer.losses import LOSSES; print(LOSSES.names())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin"}, check=True).stdout
    assert "'mine'" in out and "'hinge'" in out


def test_save_generator_refuses_a_mismatched_arch(tmp_path: Path) -> None:
    gen = build_generator("dcgan", ArchConfig(latent_dim=8, image_size=16, base_channels=4))
    with pytest.raises(ConfigError, match="register the generator's own class"):
        save_generator(gen, tmp_path / "g.pt", arch="mlp",
                       arch_config=ArchConfig(latent_dim=8, image_size=16, base_channels=4))
    assert not (tmp_path / "g.pt").exists()

