"""Embedding ganedge leaves the host process as it was: float modes and ORT's global logger."""

from __future__ import annotations

import threading
from pathlib import Path

import onnxruntime as ort
import pytest

import ganedge
from ganedge.runtime.envinfo import provider_usable
from ganedge.runtime.providers import CPU

SMALLEST_NORMAL = 2.2250738585072014e-308


def _subnormal() -> float:
    return SMALLEST_NORMAL / 4  # flush-to-zero would make this 0.0


def test_subnormals_survive_load_and_sample_in_every_thread(models: dict[str, Path]) -> None:
    assert _subnormal() != 0.0
    gen = ganedge.load(models["float"], provider="cpu")
    gen.sample(4)
    assert _subnormal() == 5.562684646268003e-309
    seen: list[float] = []
    thread = threading.Thread(target=lambda: seen.append(_subnormal()))
    thread.start()
    thread.join()
    assert seen == [5.562684646268003e-309]
    # and a thread that loads and samples itself
    worker = threading.Thread(target=lambda: seen.append(
        (ganedge.load(models["uint8"]).sample(2), _subnormal())[1]))
    worker.start()
    worker.join()
    assert seen[1:] == [5.562684646268003e-309] and _subnormal() != 0.0


def test_the_global_ort_logger_is_never_touched(models: dict[str, Path],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(ort, "set_default_logger_severity", calls.append)
    ganedge.load(models["float"], provider="cpu").sample(2)
    assert provider_usable(CPU) == (True, "")
    assert calls == []


def test_a_failing_graph_is_one_error_and_no_log_lines_on_the_host_stderr(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from tests.ganedge.hostile import CASES

    path = CASES["graph_fails"].make(tmp_path / "fails.onnx")
    # ORT's own default, as in a host app: an in-process CLI test may have quietened it
    ort.set_default_logger_severity(2)
    with pytest.raises(ganedge.GanEdgeError, match="the graph failed to run"):
        ganedge.load(path, provider="cpu").sample(2)
    assert capfd.readouterr().err == ""
