"""What every command shares, as typer/click users expect it: --version, -h, choices listed in
help, -q, --json results, and a README and docs/cli.md whose command blocks name only options
that exist."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

import ganedge
from ganedge.cli import COMMANDS as ALL_COMMANDS, app
from ganedge.runtime.convert import TARGETS
from ganedge.runtime.providers import PROVIDER_CHOICES
from ganedge.sampling.walks import EASINGS, INTERPOLATIONS
from tests.ganedge.conftest import invoke

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ("train", "export", "convert", "triton", "sample", "bulk", "walk", "mix", "web", "serve",
            "info", "env", "bench", "eval")


def _help(command: str) -> str:
    result = invoke(command, "-h")
    assert result.exit_code == 0, result.stderr
    return " ".join(result.stdout.split())


def _options(command: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", _help(command)))


def test_every_command_has_version_and_short_help() -> None:
    listed = invoke("-h").stdout
    assert all(f"  {name} " in listed for name in COMMANDS), "every command in `ganedge -h`"
    assert "..." not in listed.split("Commands:")[1], "summaries are whole, not cut"
    for command in ("", *COMMANDS):
        args = [command] if command else []
        result = invoke(*args, "--version")
        assert (result.exit_code, result.stdout) == (0, f"ganedge {ganedge.__version__}\n")
        assert f"Usage: ganedge {command}".strip() in invoke(*args, "-h").stdout


def test_every_choice_option_lists_its_choices() -> None:
    from exports.onnx import OUTPUTS
    from exports.quantize import PRECISIONS
    from trainer.checkpoint import WEIGHTS
    from trainer.config import PRESETS
    from trainer.losses import LOSSES
    from trainer.models import ARCHITECTURES
    from trainer.regularizers import REGULARIZERS

    expected = {
        "sample": {"--provider": PROVIDER_CHOICES},
        "bulk": {"--provider": PROVIDER_CHOICES, "--format": ("png", "parquet", "webdataset")},
        "serve": {"--provider": PROVIDER_CHOICES},
        "walk": {"--provider": PROVIDER_CHOICES, "--interpolation": sorted(INTERPOLATIONS),
                 "--easing": sorted(EASINGS)},
        "info": {"--provider": PROVIDER_CHOICES},
        "eval": {"--provider": PROVIDER_CHOICES, "--channels": ("1", "3")},
        "export": {"--weights": WEIGHTS, "--precision": PRECISIONS, "--pixels": OUTPUTS,
                   "--format": ("onnx", *TARGETS, "triton")},
        "convert": {"--to": TARGETS},
        "triton": {"--instance-kind": ("gpu", "cpu")},
        "train": {"--arch": ARCHITECTURES.names(), "--loss": LOSSES.names(),
                  "--preset": tuple(PRESETS), "--device": ("auto", "cpu", "cuda"),
                  "--best-mode": ("min", "max")},
    }
    for command, options in expected.items():
        text = _help(command)
        for flag, names in options.items():
            assert f"{flag} <{'|'.join(names)}>" in text, (command, flag)
    assert ", ".join(REGULARIZERS.names()) in _help("train"), "--reg repeats: names in its help"


def test_no_python_types_as_metavars() -> None:
    for command in COMMANDS:
        text = _help(command)
        assert not re.search(r"<(int|float|str|text|list\[\w+\]|path)>", text), command


def _command_block(path: Path, start: str) -> str:
    """The first ```bash block after ``start`` in the file at ``path``."""
    return path.read_text().split(start, 1)[1].split("```bash\n", 1)[1].split("```")[0]


@pytest.mark.parametrize(("doc", "start"), [("README.md", "<!-- commands:start -->"),
                                            ("docs/cli.md", "## Synopsis\n")])
def test_command_blocks_name_real_options(doc: str, start: str) -> None:
    command, seen = None, set()
    for line in _command_block(ROOT / doc, start).splitlines():
        words = line.split("#")[0].split()
        if words[:1] == ["ganedge"]:
            command = words[1]
            assert command in COMMANDS, line
            seen.add(command)
        flags = re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", " ".join(words))
        for flag in flags:
            if flag.startswith("--no-"):
                flag = "--" + flag[5:]
            known = _options(command) | {f"--no-{f[2:]}" for f in _options(command)}
            assert flag in known, f"{doc}: `ganedge {command}` has no {flag}"
    assert seen == set(COMMANDS), f"{doc} shows every command"


def test_quiet_prints_nothing_and_json_results_parse(tmp_path: Path) -> None:
    quiet = invoke("sample", "-n", "4", "-o", str(tmp_path / "q.png"), "-q")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    sample = json.loads(invoke("sample", "-n", "4", "-o", str(tmp_path / "s.png"), "--json",
                               "--scale", "3").stdout)
    assert (sample["images"], sample["seeds"], sample["scale"]) == (4, "0-3", 3)
    with Image.open(tmp_path / "s.png") as grid:
        assert grid.size == (2 * 96 + 3 * 2,) * 2, "2×2 cells of 32 px enlarged 3 times"
    walk = json.loads(invoke("walk", "--frames", "2", "--grid", "2x1", "-o",
                             str(tmp_path / "w.gif"), "--json").stdout)
    assert (walk["frames"], walk["walks"], walk["size"]) == (8, [[0, 1, 2, 3], [4, 5, 6, 7]],
                                                             [2 * 128 + 3 * 2, 128 + 2 * 2])
    for command in ("info", "env"):
        assert isinstance(json.loads(invoke(command, "--json").stdout), dict)
    for command in ("info", "env", "walk"):
        assert invoke(command, "-q", *(["-o", str(tmp_path / "q.gif")] if command == "walk"
                                        else [])).stdout == ""


def test_every_command_is_listed_and_loads() -> None:
    assert tuple(ALL_COMMANDS) == COMMANDS, "the tests here cover every command"
    assert app is not None


def test_walk_writes_mp4_or_says_what_to_install(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "walk.mp4"
    result = invoke("walk", "--frames", "2", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes()[4:8] == b"ftyp", "an MP4 container"
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if the extra were missing
    result = invoke("walk", "--frames", "2", "-o", str(tmp_path / "again.mp4"))
    assert result.exit_code == 3 and result.stderr == (
        "error: --output: writing .mp4 needs the imageio-ffmpeg package, which is not installed: "
        "pip install 'ganedge[video]' brings it (or write .gif)\n")
    assert not (tmp_path / "again.mp4").exists()
