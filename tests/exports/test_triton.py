"""Triton repositories from the exporter: `ganedge export --format triton` from a checkpoint; a
traced StyleGAN2 (a real graph, not a hand-built one) split into an ensemble whose pieces, run in
sequence, give the runtime's images; an NVlabs StyleGAN2-ADA snapshot whose pieces give NVlabs'
reference images. The configs' own checks live in tests/ganedge/test_triton.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import ganedge
from exports.nvlabs_import import export_pickle
from ganedge.triton import write_repository
from tests.conftest import run_cli
from tests.exports import nvlabs_fixture as fixture
from tests.exports.small_stylegan2 import export_small_stylegan2
from tests.exports.test_nvlabs_import import TOLERANCE
from tests.ganedge.test_triton import DataType, check_against_graph, parse

NVLABS = "sg2ada_cond"


def test_export_format_triton_from_a_checkpoint(trained_run: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    result = run_cli("export", str(trained_run / "ckpt.pt"), "--format", "triton", "-o",
                     str(repo), "--pixels", "uint8")
    assert f"wrote {repo / 'model-uint8-out'}/" in result.stdout
    assert "parity" in result.stdout, "the export's own steps are reported"
    config = check_against_graph(repo / "model-uint8-out")
    assert DataType.Name(config.output[0].data_type) == "TYPE_UINT8"
    assert sorted(p.name for p in repo.iterdir()) == ["model-uint8-out"]
    again = run_cli("export", str(trained_run / "ckpt.pt"), "--format", "triton", "-o",
                    str(repo), "--pixels", "uint8", check=False)
    assert again.returncode == 2 and again.stdout == ""
    assert again.stderr == (f"error: --output: model folder '{repo / 'model-uint8-out'}' exists "
                            "and is not empty: give --force to replace it, or another --output\n")


@pytest.fixture(scope="module")
def stylegan2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small conditional StyleGAN2 from the trainer, with noise and w_avg set, exported."""
    return export_small_stylegan2(tmp_path_factory.mktemp("sg2"))[1]


def test_traced_stylegan2_ensemble_equals_the_runtime(stylegan2: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    written = write_repository(stylegan2, repo, name="sg2")
    for model in written.models[1:]:
        check_against_graph(repo / model)
    assert parse(repo / "sg2").platform == "ensemble"
    gen = ganedge.load(stylegan2)
    z, labels, psi = gen.latents(range(6)), np.array([0, 1, 2, 2, 1, 0]), 0.6
    run = {part: ort.InferenceSession(str(repo / f"sg2_{part}" / "1" / "model.onnx"),
                                      providers=["CPUExecutionProvider"]).run
           for part in ("mapping", "truncation", "synthesis")}
    (ws,) = run["mapping"](None, {"z": z, "label": labels})
    np.testing.assert_array_equal(ws, gen.mapping(z, labels))
    (truncated,) = run["truncation"](None, {"ws": ws, "psi": np.full((6, 1), psi, np.float32)})
    (images,) = run["synthesis"](None, {"ws": truncated})
    np.testing.assert_allclose(images, gen.generate(z, labels, truncation=psi), atol=1e-6)
    sizes = {m: (repo / m / "1" / "model.onnx").stat().st_size for m in written.models[1:]}
    assert sizes["sg2_mapping"] + sizes["sg2_synthesis"] <= stylegan2.stat().st_size, \
        "each half holds only its own weights"


@pytest.fixture(scope="module")
def nvlabs_repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NVlabs StyleGAN2-ADA snapshot (conditional) exported and written as model 'ffhq'."""
    folder = tmp_path_factory.mktemp("nvlabs")
    pkl = fixture.write_snapshot(NVLABS, folder / "network-snapshot.pkl", folder / "marker")
    model = export_pickle(pkl, folder / "model.onnx").path
    write_repository(model, folder / "repo", name="ffhq")
    assert not (folder / "marker").exists(), "the pickle's code never ran"
    return folder / "repo"


@pytest.mark.parametrize("psi", [1.0, 0.7, 0.5])
def test_nvlabs_stylegan2_served_by_the_ensemble_matches_nvlabs(nvlabs_repository: Path,
                                                                psi: float) -> None:
    """The three pieces in sequence give NVlabs' own reference ws and images within the
    import's tolerance."""
    _, _, ref = fixture.load(NVLABS)
    run = {part: ort.InferenceSession(str(nvlabs_repository / f"ffhq_{part}" / "1" /
                                          "model.onnx"), providers=["CPUExecutionProvider"]).run
           for part in ("mapping", "truncation", "synthesis")}
    (ws,) = run["mapping"](None, {"z": ref["z"], "label": ref["labels"].astype(np.int64)})
    psis = np.full((len(ws), 1), psi, np.float32)
    (truncated,) = run["truncation"](None, {"ws": ws, "psi": psis})
    (images,) = run["synthesis"](None, {"ws": truncated})
    assert float(np.abs(truncated - ref[f"ws_psi{psi:g}"]).max()) <= TOLERANCE
    assert float(np.abs(images - ref[f"img_psi{psi:g}"]).max()) <= TOLERANCE
