"""An NVlabs StyleGAN2-ADA pickle exported by `ganedge export` gives what NVlabs' own code gives.

The references in tests/exports/data were computed once with NVlabs' stylegan2-ada-pytorch
(scripts/make_nvlabs_sg2_fixture.py): ws and float images for fixed z (and class labels), ψ ∈
{1, 0.7, 0.5}, a truncation cutoff and a style-mixing case, noise_mode='const'. Here the same
networks are written as a snapshot pickle in NVlabs' layout, whose embedded source would leave a
marker file if it ever ran, exported through the real CLI, and sampled through the public API.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import ganedge
from exports.nvlabs_import import generator_from_pickle
from ganedge.errors import CheckpointError
from tests.conftest import run_cli
from tests.exports import nvlabs_fixture as fixture

TOLERANCE = 2e-3  # the bound on max |ganedge − NVlabs| for ws and float images
PSIS = (1.0, 0.7, 0.5)


@pytest.fixture(scope="module", params=fixture.FIXTURES)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[str, Path, Path, Path]:
    """(fixture name, pickle, marker, model.onnx) after `ganedge export pickle -o model.onnx`."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    marker = folder / "marker"
    pkl = fixture.write_snapshot(name, folder / "network-snapshot-000100.pkl", marker)
    result = run_cli("export", str(pkl), "-o", str(folder / "model.onnx"))
    assert "parity ok" in result.stdout
    return name, pkl, marker, folder / "model.onnx"


def _labels(gen: ganedge.GeneratorModel, ref: dict[str, np.ndarray], rows: list[int]
            ) -> np.ndarray | None:
    return ref["labels"][rows] if gen.contract.conditional else None


def _close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert float(np.abs(ours - theirs).max()) <= TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("psi", PSIS)
def test_ws_and_images_match_nvlabs_at_batch_1_and_5(exported: tuple, psi: float) -> None:
    name, _, marker, onnx_path = exported
    _, _, ref = fixture.load(name)
    gen = ganedge.load(onnx_path)
    every = list(range(len(ref["z"])))
    for rows in [every] + [[i] for i in every]:
        labels = _labels(gen, ref, rows)
        ws = gen.mapping(ref["z"][rows], labels=labels, truncation=psi)
        _close(ws, ref[f"ws_psi{psi:g}"][rows])
        _close(gen.synthesis(ws), ref[f"img_psi{psi:g}"][rows])
        _close(gen.generate(ref["z"][rows], labels=labels, truncation=psi),
               ref[f"img_psi{psi:g}"][rows])
    assert not marker.exists()


@pytest.mark.slow
def test_truncation_cutoff_and_style_mixing_match_nvlabs(exported: tuple) -> None:
    name, _, marker, onnx_path = exported
    _, _, ref = fixture.load(name)
    gen = ganedge.load(onnx_path)
    labels = _labels(gen, ref, list(range(len(ref["z"]))))
    psi, cutoff = float(ref["cutoff"][0]), int(ref["cutoff"][1])
    ws = gen.mapping(ref["z"], labels=labels, truncation=psi, truncation_cutoff=cutoff)
    _close(ws, ref["ws_cutoff"])
    _close(gen.synthesis(ws), ref["img_cutoff"])
    ws = gen.mapping(ref["z"], labels=labels)
    styles = ref["mix_styles"]
    mixed = []
    for r in ref["mix_rows"]:
        for c in ref["mix_cols"]:
            w = ws[r].copy()
            w[styles] = ws[c][styles]
            mixed.append(w)
    _close(np.stack(mixed), ref["mix_ws"])
    _close(gen.synthesis(np.stack(mixed)), ref["mix_img"])
    assert not marker.exists()


@pytest.mark.slow
def test_the_model_records_where_it_came_from(exported: tuple) -> None:
    name, pkl, _, onnx_path = exported
    gen = ganedge.load(onnx_path)
    assert gen.provenance["source"] == "nvlabs-stylegan2-ada-pickle"
    assert gen.provenance["network"] == "G_ema"
    assert gen.provenance["nvlabs_kwargs"]["mapping_kwargs"] == {"num_layers": 2}
    assert gen.contract.num_classes == (10 if name == "sg2ada_cond" else 0)
    assert gen.contract.num_ws == 8 and gen.contract.w_dim == 32
    _, tensors, _ = fixture.load(name)
    np.testing.assert_array_equal(np.float32(gen.contract.w_avg), tensors["G_ema/mapping.w_avg"])


@pytest.mark.slow
def test_raw_weights_are_g_not_g_ema(exported: tuple) -> None:
    # the CLI passes --weights through to the same call; export itself is covered above
    name, pkl, marker, _ = exported
    _, _, ref = fixture.load(name)
    model, read = generator_from_pickle(pkl, weights="raw")
    assert read.network == "G"
    labels = torch.from_numpy(ref["labels"]) if model.c_dim else None
    with torch.no_grad():
        ws = model.mapping(torch.from_numpy(ref["z"]), labels)
        _close(ws.numpy(), ref["raw_ws"])
        _close(model.synthesis(ws).numpy(), ref["raw_img"])
    assert not marker.exists()


def test_hostile_pickle_through_the_cli_is_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    evil = tmp_path / "network-snapshot.pkl"
    evil.write_bytes(b"cos\nsystem\n(Vtouch " + str(marker).encode() + b"\ntR.")
    result = run_cli("export", str(evil), "-o", str(tmp_path / "m.onnx"), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "os.system" in lines[0] and "refusing" in lines[0]
    assert not marker.exists() and not (tmp_path / "m.onnx").exists()


def test_kwargs_claiming_a_huge_network_are_refused_before_allocating(tmp_path: Path) -> None:
    # 2^30 channels × 3 × 3 × 3 floats would be tens of GB: the shapes are checked on the meta
    # device against the tensors the file really holds, so nothing that size is allocated
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
                  synthesis_kwargs={"channel_base": 1 << 33, "channel_max": 1 << 30})
    rec = fixture.record("Generator", {"_init_args": (), "_init_kwargs": kwargs},
                         fixture.stub_source(tmp_path / "marker"))
    path = tmp_path / "huge.pkl"
    path.write_bytes(fixture.dumps({"G_ema": rec}))
    with pytest.raises(CheckpointError, match="describe no buildable StyleGAN2|do not fit"):
        generator_from_pickle(path)
    assert not (tmp_path / "marker").exists()
