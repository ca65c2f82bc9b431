"""Ray is an extra: without it everything else works and never imports it, and the commands that
need it say which install line brings it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
from typer.testing import CliRunner
from ganedge.cli import app
import ganedge.ray
result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print("ray" in sys.modules, "ray.serve" in sys.modules, "pyarrow" in sys.modules)
"""

# a runtime-only install: importing ray fails as if it were not installed
HIDE_RAY = ("import sys\n"
            "class Hide:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'ray':\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, Hide())\n")


@pytest.mark.parametrize("args", [["--help"], ["serve", "-h"], ["bulk", "-h"],
                                  ["sample", "-n", "1", "-o", "{tmp}/one.png"]])
def test_commands_and_the_package_leave_ray_unloaded(args: list[str], tmp_path: Path) -> None:
    argv = [a.format(tmp=tmp_path) for a in args]
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("command", ["serve", "bulk"])
def test_a_ray_command_without_ray_names_the_extra(command: str, tmp_path: Path) -> None:
    argv = [command, "--seeds", "0-3", "--outdir", str(tmp_path / "out")] if command == "bulk" \
        else [command]
    code = HIDE_RAY + f"sys.argv = ['ganedge', *{argv!r}]\nfrom ganedge.cli import main\nmain()\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (f"error: `ganedge {command}` needs the ray package, which is not "
                             "installed: pip install 'ganedge[ray]' brings it\n")
    assert not (tmp_path / "out").exists()


def test_the_api_without_ray_raises_missing_extra(tmp_path: Path) -> None:
    code = HIDE_RAY + (
        "import ganedge.ray\n"
        "from ganedge.errors import MissingExtraError\n"
        "try:\n"
        f"    ganedge.ray.generate(None, range(4), {str(tmp_path / 'out')!r})\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout == ("ganedge.ray.generate needs the ray package, which is not "
                             "installed: pip install 'ganedge[ray]' brings it\n")


def test_a_worker_failure_becomes_the_error_it_began_as() -> None:
    from ganedge.errors import InputError, OutputError
    from ganedge.ray.bulk import worker_error

    class Wrapped(Exception):  # how Ray hands back an actor that died in __init__: text only
        pass

    text = ("The actor died because of an error raised in its creation task\nTraceback ...\n"
            "ganedge.errors.InputError: provider: OpenVINO reads .onnx files\n\nmore")
    error = worker_error(Wrapped(text))
    assert type(error) is InputError
    assert str(error) == "a Ray worker failed: provider: OpenVINO reads .onnx files"
    chained = RuntimeError("task failed")
    chained.__cause__ = OutputError("cannot write 'x': no space left on the device")
    assert str(worker_error(chained)) == ("a Ray worker failed: cannot write 'x': no space left "
                                          "on the device")
    other = worker_error(Wrapped("segfault"))
    assert type(other) is OutputError and str(other) == (
        "a Ray worker failed (Wrapped): see Ray's logs under /tmp/ray/session_latest/logs, then "
        "re-run to resume")


# Ray core and Serve installed, Ray Data's pandas/pyarrow not (a `ray[serve]` install)
HIDE_RAY_DATA = HIDE_RAY.replace("name.split('.')[0] == 'ray'", "name == 'ray.data'")


def test_serving_needs_no_ray_data_and_bulk_names_what_it_misses(tmp_path: Path) -> None:
    code = HIDE_RAY_DATA + (
        "from ganedge.errors import MissingExtraError\n"
        "from ganedge.ray.cluster import quiet_ray_logs, require_data, require_serve\n"
        "print(require_serve('serving').__name__)\n"
        "quiet_ray_logs(quiet=True)\n"
        "try:\n"
        "    require_data('bulk')\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
        "print('ray.data' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.splitlines() == [
        "ray.serve",
        "bulk needs the ray.data package, which is not installed: pip install 'ganedge[ray]' "
        "brings it",
        "False"]
