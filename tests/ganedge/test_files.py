"""Written files: modes follow the umask, stale temporaries of killed runs are swept, and every
OS error is one line naming the path with nothing partial under the final name."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ganedge.errors import OutputError
from ganedge.io.files import FOREIGN_STALE_S, atomic_path, sweep_stale
from ganedge.io.imaging import save_png
from tests.ganedge.conftest import invoke

IMAGE = np.zeros((4, 4, 1), np.uint8)


@pytest.fixture
def umask() -> Iterator[None]:
    """Restores the process umask whatever the test set."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_written_files_honour_the_umask(umask: None, mask: int, tmp_path: Path,
                                        models: dict[str, Path]) -> None:
    os.umask(mask)
    save_png(IMAGE, tmp_path / "api.png")
    result = invoke("sample", str(models["float"]), "-n", "2", "-o", str(tmp_path / "cli.png"))
    assert result.exit_code == 0, result.stderr
    for name in ("api.png", "cli.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask, name


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def temp_name(final: str, pid: int) -> str:
    from ganedge.io.files import _host_tag

    return f".{final}.{_host_tag()}-{pid}-0123abcd.tmp"


def test_a_write_sweeps_temporaries_of_dead_writers_and_nothing_else(tmp_path: Path) -> None:
    old = time.time() - FOREIGN_STALE_S - 60
    stale = [temp_name("seed0042.png", dead_pid()), ".last.pt.k3j_x9a2.tmp"]
    kept = [temp_name("model.onnx", os.getpid()),  # a live writer's (this process)
            ".model.onnx.a1b2c3d4.tmp",  # an older ganedge's, still fresh
            ".notes.tmp", "draft.tmp", "seed0001.png"]  # not ours
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    os.utime(tmp_path / stale[1], (old, old))
    os.utime(tmp_path / "draft.tmp", (old, old))
    save_png(IMAGE, tmp_path / "seed0000.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["seed0000.png"])


def test_a_folder_is_swept_once_per_process_not_once_per_file(tmp_path: Path) -> None:
    save_png(IMAGE, tmp_path / "seed0000.png")
    late = temp_name("seed0001.png", dead_pid())  # died after this process swept the folder
    (tmp_path / late).write_bytes(b"partial")
    save_png(IMAGE, tmp_path / "seed0002.png")
    assert (tmp_path / late).exists(), "10^5 per-seed files must not list the folder 10^5 times"


def test_the_temporary_a_kill_9_leaves_is_removed_by_the_next_write(tmp_path: Path) -> None:
    code = ("import sys, time; from ganedge.io.files import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'half'); print(tmp.name, flush=True); time.sleep(120)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "last.pt")],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    left = child.stdout.readline().strip()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert [p.name for p in tmp_path.iterdir()] == [left]
    assert left.startswith(".last.pt.") and left.endswith(".tmp")
    assert sweep_stale(tmp_path) == [tmp_path / left]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"),
                                         (errno.EROFS, "the file system is read-only"),
                                         (errno.EACCES, "permission denied")])
def test_an_os_error_while_writing_is_one_line_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str) -> None:
    from PIL import Image

    def failing_save(self: Image.Image, fp: Path, *args: object, **kwargs: object) -> None:
        Path(fp).write_bytes(b"\x89PNG half")
        raise OSError(code, os.strerror(code))

    final = tmp_path / "seed0042.png"
    final.write_bytes(b"the previous image")
    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OutputError) as info:
        save_png(IMAGE, final)
    assert str(info.value).startswith(f"cannot write {str(final)!r}: {words}")
    assert "\n" not in str(info.value)
    assert final.read_bytes() == b"the previous image"
    assert [p.name for p in tmp_path.iterdir()] == ["seed0042.png"]


def test_a_read_only_folder_is_refused_when_the_temporary_is_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, *args: int, **kw: object) -> int:
        if str(path).endswith(".tmp"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OutputError, match="read-only"):
        with atomic_path(tmp_path / "run.json") as tmp:
            tmp.write_text("{}")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_cli_output_into_proc_is_one_line(models: dict[str, Path]) -> None:
    result = invoke("sample", str(models["float"]), "-n", "2", "-o", "/proc/a.png")
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1 and "/proc/a.png" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_file_name_over_255_bytes_is_one_line(models: dict[str, Path],
                                                  tmp_path: Path) -> None:
    result = invoke("sample", str(models["float"]), "-n", "2",
                    "-o", str(tmp_path / ("é" * 130 + ".png")))
    assert result.exit_code == 2
    assert "264 bytes, over the 255" in result.stderr and result.stderr.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_a_site_that_cannot_be_written_is_one_line_and_leaves_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from ganedge.web.site import build_site

    def disk_full(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(shutil, "copyfile", disk_full)
    with pytest.raises(OutputError, match=f"cannot write {str(tmp_path / 'site')!r}: no space"):
        build_site(None, tmp_path / "site")
    assert not list(tmp_path.iterdir())
