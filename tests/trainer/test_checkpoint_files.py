"""Checkpoint files: modes follow the umask, a real write error (file-size limit) is one line
naming the path, and ``train --out`` naming a file is refused before any work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganedge.cli import app
from trainer import ArchConfig, build_generator, save_generator

CFG = ArchConfig(image_size=16, base_channels=4, latent_dim=8)


def test_checkpoint_mode_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = save_generator(build_generator("dcgan", CFG), tmp_path / "ckpt.pt", arch="dcgan",
                              arch_config=CFG)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


# A real OS error from inside torch.save: a file-size limit (EFBIG once SIGXFSZ is ignored), which
# torch itself reports only as "unexpected pos"; the user must read what happened and where.
LIMITED_SAVE = """
import resource, signal, sys
from ganedge.errors import GanEdgeError
from trainer import ArchConfig, build_generator, save_generator
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
cfg = ArchConfig(image_size=16, base_channels=4, latent_dim=8)
try:
    save_generator(build_generator("dcgan", cfg), sys.argv[1], arch="dcgan", arch_config=cfg)
except GanEdgeError as exc:
    sys.exit(f"{type(exc).__name__}: {exc}")
"""


@pytest.mark.slow
def test_a_write_error_inside_torch_save_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    final = tmp_path / "ckpt.pt"
    result = subprocess.run([sys.executable, "-c", LIMITED_SAVE, str(final)], capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert result.stderr == (f"OutputError: cannot write {str(final)!r}: file too large for this "
                             "file system or limit: write elsewhere\n")
    assert not list(tmp_path.iterdir())


def test_train_out_naming_a_file_is_refused_up_front(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for out in (tmp_path / "notes.txt", tmp_path / "notes.txt" / "run"):
        result = CliRunner().invoke(app, ["train", "--out", str(out), "--steps", "1"])
        assert result.exit_code == 2, result.output
        assert result.stderr == (f"error: --output: {str(tmp_path / 'notes.txt')!r} is a file, not "
                                 "a folder: choose another folder\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"
