"""`ganedge bench` on CUDA: every CUDA row (ganedge, its CUDA-graph variant, plain ORT) runs on
the CUDA provider and passes parity against the CPU reference at several batch sizes, in one run
(skipped where no session runs on CUDA)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganedge.bench.candidates import default_providers
from ganedge.runtime import providers as prov
from tests.conftest import run_cli


@pytest.fixture()
def cuda_model(exported_model: Path) -> Path:
    if "cuda" not in default_providers(exported_model):
        pytest.skip("no GPU: no ONNX Runtime session runs on CUDA here")
    return exported_model


@pytest.mark.slow
def test_cuda_rows_match_the_cpu_reference(cuda_model: Path) -> None:
    report = json.loads(run_cli("bench", str(cuda_model), "--provider", "cpu", "--provider",
                                "cuda", "--ort-defaults", "--batch", "1,3,64", "--budget",
                                "0.05", "--rounds", "2", "--json", "-").stdout)
    rows = report["rows"]
    failed = [(r["label"], r["provider"], r["batch"], r["reason"]) for r in rows
              if r["status"] != "ok"]
    assert failed == []
    cuda = {(r["label"], r["provider_used"]) for r in rows if r["provider"] == "cuda"}
    assert cuda == {("ganedge", prov.CUDA), ("ganedge cuda-graph", prov.CUDA),
                    ("plain ORT", prov.CUDA)}
    assert all(r["parity_max_abs"] <= 0.5 / 127.5 for r in rows)
