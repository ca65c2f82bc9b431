"""`ganedge bulk` as a user runs it, in its own process: -q keeps even Ray's C++ log lines off
stderr, and an address where no cluster answers is one line at once, not minutes of retries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")


def _bulk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ganedge", "bulk", "--seeds", "0-3", "--outdir",
                           str(tmp_path / "out"), "--workers", "2", *args], capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
def test_quiet_bulk_prints_nothing_at_all(tmp_path: Path) -> None:
    result = _bulk(tmp_path, "-q")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == [
        f"seed{s:04d}.png" for s in range(4)]


@pytest.mark.slow
def test_bulk_shows_its_own_lines_and_not_rays_log_lines(tmp_path: Path) -> None:
    result = _bulk(tmp_path, "--progress")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # Ray's C++ core logs an "E" line for every actor pool it starts
    lines = result.stdout.splitlines()
    assert lines[-2].startswith("bulk: 4/4 images (100%), ") and lines[-1].startswith(
        f"wrote {tmp_path / 'out'} (4 images written, 0 already there; ")


def test_the_filter_drops_only_rays_lines_and_passes_a_partial_line_at_once() -> None:
    import os
    import threading

    from ganedge.cli.ray_logs import _forward

    read_end, write_end = os.pipe()
    out_read, out_write = os.pipe()
    pump = threading.Thread(target=_forward, args=(read_end, out_write))
    pump.start()
    ray_line = b"[2026-12-04 22:20:09,008 E 13887 13887] core_worker.cc:2465: Actor ...\n"
    os.write(write_end, ray_line + b"[a line of ours]\n\x1b[2K\rbulk: 1/4 images")
    # a progress line (ANSI codes and all) goes on without waiting for its end
    assert os.read(out_read, 1 << 16) == b"[a line of ours]\n\x1b[2K\rbulk: 1/4 images"
    os.write(write_end, b"\r" + ray_line[:20])  # may be Ray's: held back …
    os.write(write_end, ray_line[20:] + b"[par")
    os.write(write_end, b"tial]")
    os.close(write_end)
    pump.join(timeout=10)
    os.close(out_write)
    assert os.read(out_read, 1 << 16) == b"\r[partial]"  # … and dropped once it was
    os.close(out_read)


def test_the_filter_drains_the_pipe_after_its_terminal_went_away() -> None:
    import os
    import threading

    from ganedge.cli.ray_logs import _forward

    read_end, write_end = os.pipe()
    gone_read, gone = os.pipe()
    os.close(gone_read)  # writing to `gone` now fails (EPIPE)
    pump = threading.Thread(target=_forward, args=(read_end, gone))
    pump.start()
    for _ in range(64):  # 1 MiB, far past a pipe's buffer: a stopped reader would block this
        os.write(write_end, b"a line nobody sees\n" * 3000)
    os.close(write_end)
    pump.join(timeout=10)
    assert not pump.is_alive()
    os.close(gone)


@pytest.mark.parametrize(("address", "message"), [
    ("127.0.0.1:1", "cannot join the Ray cluster '127.0.0.1:1': nothing answers at 127.0.0.1:1 "
     "(Connection refused): start one with `ray start --head`, or leave the address unset for a "
     "local one"),
    ("head-node", None),  # a word Ray resolves itself ("auto"-like): Ray's own answer, one line
    ("10.0.0.5:port", "'10.0.0.5:port' is not HOST:PORT (e.g. 10.0.0.5:6379) or auto"),
    ("10.0.0.5:70000", "'10.0.0.5:70000' is not HOST:PORT (e.g. 10.0.0.5:6379) or auto"),
])
def test_an_address_without_a_cluster_is_one_line_and_writes_nothing(
        tmp_path: Path, address: str, message: str | None) -> None:
    result = _bulk(tmp_path, "--address", address)
    assert result.returncode == 2 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    if message is not None:
        assert lines[0] == f"error: --address: {message}"
    assert not (tmp_path / "out").exists()
