"""The plugin API: the docs example runs, entry points register third-party entries, export hook."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganedge.errors import ConfigError
from trainer import ArchConfig, build_generator, save_generator

DOC = Path(__file__).parents[2] / "docs" / "plugin.md"


@pytest.mark.slow
def test_docs_example_runs_and_exports(tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert len(code.splitlines()) <= 25
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert "latent_dim=8" in result.stdout and (tmp_path / "tiny.onnx").is_file()


def _doc_section(title: str) -> str:
    """The python block of the docs section headed ``## title``."""
    section = DOC.read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
@pytest.mark.parametrize(("title", "module", "written"), [
    ("Training in Lightning", "lightning", "onnx/model.onnx"),
    ("Training with Accelerate", "accelerate", "gen.onnx"),
])
def test_framework_doc_examples_run(tmp_path: Path, title: str, module: str, written: str) -> None:
    pytest.importorskip(module, reason=f"{module} is not installed")
    result = subprocess.run([sys.executable, "-c", _doc_section(title)], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / written).is_file()
    import ganedge

    assert ganedge.load(tmp_path / written, provider="cpu").sample(4).shape[0] == 4


def test_save_generator_unwraps_parallel_and_compiled_modules(tmp_path: Path) -> None:
    cfg = ArchConfig(latent_dim=8, image_size=16, base_channels=4)
    gen, ema = build_generator("dcgan", cfg), build_generator("dcgan", cfg)
    wrapped = torch.compile(torch.nn.DataParallel(gen))  # compiled lazily: never run here
    assert all(k.startswith("_orig_mod.module.") for k in wrapped.state_dict())
    save_generator(wrapped, tmp_path / "g.pt", arch="dcgan", arch_config=cfg,
                   generator_ema=torch.nn.DataParallel(ema))
    saved = torch.load(tmp_path / "g.pt", weights_only=True)
    assert saved["generator"].keys() == gen.state_dict().keys()
    assert saved["generator_ema"].keys() == ema.state_dict().keys()


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

