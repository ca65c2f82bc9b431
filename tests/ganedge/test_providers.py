"""Providers: what is asked for vs what a session runs on; warnings, strict failures, GPU path."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import ganedge
from ganedge.errors import InputError, ProviderError
from ganedge.runtime import providers as prov
from ganedge.runtime.cores import physical_cores
from ganedge.runtime.envinfo import provider_usable
from ganedge.runtime.session import SessionSettings
from tests.ganedge.conftest import invoke

CUDA_USABLE = provider_usable(prov.CUDA)[0] if prov.CUDA in ort.get_available_providers() \
    else False
needs_cuda = pytest.mark.skipif(not CUDA_USABLE, reason="no usable CUDA provider here")
needs_no_cuda = pytest.mark.skipif(CUDA_USABLE, reason="CUDA works here: no fallback to see")


def test_auto_asks_for_cuda_only_where_a_driver_and_the_provider_exist() -> None:
    cuda_possible = prov.CUDA in ort.get_available_providers() and prov.gpu_driver_present()
    expected = [prov.CUDA, prov.CPU] if cuda_possible else [prov.CPU]
    assert prov.requested_providers("auto") == expected
    assert prov.requested_providers("tensorrt") == [prov.TENSORRT, prov.CUDA, prov.CPU]
    with pytest.raises(InputError, match="^provider: must be one of"):
        prov.requested_providers("gpu")


def test_fallback_warns_or_fails_with_the_cause() -> None:
    asked, got = [prov.CUDA, prov.CPU], [prov.CPU]
    with pytest.raises(ProviderError, match="^provider: cuda: asked for CUDAExecutionProvider "
                                            "but the session runs on CPUExecutionProvider: "):
        prov.check_in_use("cuda", asked, got, strict=True)
    with pytest.warns(RuntimeWarning, match="asked for CUDAExecutionProvider"):
        prov.check_in_use("cuda", asked, got, strict=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prov.check_in_use("cpu", [prov.CPU], got, strict=True)
        prov.check_in_use("cuda", asked, [prov.CUDA, prov.CPU], strict=True)


def test_both_onnxruntime_packages_is_named_as_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prov, "installed_ort_packages", lambda: ["onnxruntime", "onnxruntime-gpu"])
    assert prov.fallback_cause().startswith("both onnxruntime and onnxruntime-gpu are installed")


def test_cpu_threads_are_set_explicitly(models: dict[str, Path]) -> None:
    assert ganedge.load(models["float"], provider="cpu").threads == physical_cores()
    gen = ganedge.load(models["float"], provider="cpu", threads=1)
    assert gen.threads == 1 and gen.session.get_session_options().intra_op_num_threads == 1


@needs_no_cuda
def test_cli_warns_once_on_fallback_and_strict_fails(models: dict[str, Path],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "s.png"
    result = invoke("sample", str(models["float"]), "--provider", "cuda", "-n", "4", "-o", str(out))
    assert result.exit_code == 0 and out.exists()
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("warning: asked for CUDAExecutionProvider but the session "
                                    "runs on CPUExecutionProvider: ")
    result = invoke("sample", str(models["float"]), "--provider", "cuda", "--strict-provider",
                    "-o", str(tmp_path / "t.png"))
    assert result.exit_code == 1 and result.stderr.startswith("error: --provider: cuda: asked for")
    assert result.stderr.count("\n") == 1 and not (tmp_path / "t.png").exists()


def test_env_reports_usable_providers_and_libraries() -> None:
    result = invoke("env", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["versions"]["onnxruntime"] == ort.__version__
    assert report["versions"]["numpy"] == np.__version__
    assert prov.CPU in report["providers"]["usable"]
    assert set(report["providers"]["usable"]) | set(report["providers"]["not_usable"]) \
        == set(ort.get_available_providers())
    assert (prov.CUDA in report["providers"]["usable"]) == CUDA_USABLE
    # both packages side by side is reported (a warning: the CUDA provider may still work)
    both = set(prov.ORT_PACKAGES) <= set(prov.installed_ort_packages())
    assert report["onnxruntime_packages"]["conflict"] is both
    assert report["threads"]["ganedge_default_intra_op"] == physical_cores()
    assert "cuDNN" in report["libraries"] or "note" in report["libraries"]
    text = invoke("env").stdout
    assert "providers:\n  available_in_build: " in text and "usable: " in text


@needs_cuda
def test_cuda_runs_with_io_binding_and_matches_cpu(models: dict[str, Path]) -> None:
    # TF32 off (and NVIDIA_TF32_OVERRIDE=0 from conftest): parity at fp32's tolerance
    gpu = ganedge.load(models["cond"], provider="cuda", strict_provider=True,
                       settings=SessionSettings(use_tf32=False))
    cpu = ganedge.load(models["cond"], provider="cpu")
    assert gpu.providers[0] == prov.CUDA and gpu.io_binding
    z = gpu.latents(range(70))
    np.testing.assert_allclose(gpu.generate(z, labels=1), cpu.generate(z, labels=1), atol=1e-4)
    np.testing.assert_array_equal(gpu.sample(70, batch_size=16), gpu.sample(70))


@needs_cuda
def test_auto_picks_cuda_when_it_really_runs(models: dict[str, Path]) -> None:
    assert ganedge.load(models["float"]).providers[0] == prov.CUDA
