"""StyleGAN2 from the trainer's module through export to the runtime and the CLI: parity of each
half, W truncation, mixing, walks in W, and the mix command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import ganedge
from ganedge.cli import app
from ganedge.errors import InputError
from ganedge.io.imaging import to_uint8_nhwc
from tests.exports.small_stylegan2 import export_small_stylegan2
from trainer.models.stylegan2 import StyleGAN2Generator


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[StyleGAN2Generator, Path]:
    """A small conditional StyleGAN2 with non-zero noise strengths and w_avg, exported once."""
    gen, path, result = export_small_stylegan2(tmp_path_factory.mktemp("sg2"))
    assert [b.batch for b in result.parity.batches] == [1, 3, 64]
    assert result.parity.ok and result.parity.max_err <= 1e-4
    assert result.provenance["mapping_parity"]["ok"]
    return gen, path


def test_contract_declares_mapping_and_synthesis(exported: tuple) -> None:
    gen, path = exported
    c = ganedge.load(path).contract
    assert c.is_stylegan and (c.num_ws, c.w_dim, c.latent_dim) == (6, 8, 8)
    np.testing.assert_array_equal(np.float32(c.w_avg), gen.mapping.w_avg.numpy())
    assert c.noise_mode == "const"


@pytest.mark.parametrize(("psi", "cutoff"), [(1.0, None), (0.6, None), (0.5, 2)])
def test_runtime_matches_pytorch(exported: tuple, psi: float, cutoff: int | None) -> None:
    gen, path = exported
    model = ganedge.load(path)
    z, labels = model.latents([3, 4, 5, 6]), np.array([0, 1, 2, 0])
    with torch.no_grad():
        ws = gen.mapping(torch.from_numpy(z), torch.from_numpy(labels), psi, cutoff)
        images = gen.synthesis(ws).numpy()
    got_ws = model.mapping(z, labels, truncation=psi, truncation_cutoff=cutoff)
    np.testing.assert_allclose(got_ws, ws.numpy(), atol=1e-5)
    np.testing.assert_allclose(model.synthesis(got_ws), images, atol=1e-4)
    if cutoff is None:
        np.testing.assert_allclose(model.generate(z, labels, truncation=psi), images, atol=1e-4)


def test_truncation_zero_gives_the_w_avg_image_for_every_seed(exported: tuple) -> None:
    gen, path = exported
    model = ganedge.load(path)
    images = model.sample(range(10), truncation=0.0, labels=1)
    w_avg = np.float32(model.contract.w_avg)
    expected = to_uint8_nhwc(model.synthesis(np.broadcast_to(w_avg, (1, 6, 8))))[0]
    assert all(np.array_equal(image, expected) for image in images)


def test_mixing_with_the_same_seed_is_the_plain_image(exported: tuple) -> None:
    _, path = exported
    model = ganedge.load(path)
    grid = model.mix([7, 9], [7, 11], [0, 1, 2], label=2)
    h = 16
    assert grid.shape == (3 * h, 3 * h, 3)
    plain = model.sample([7, 9, 11], labels=2)
    np.testing.assert_array_equal(grid[h:2 * h, h:2 * h], plain[0])  # row 7 mixed with col 7
    np.testing.assert_array_equal(grid[:h, h:2 * h], plain[0])  # top row: column sources
    np.testing.assert_array_equal(grid[:h, 2 * h:], plain[2])
    np.testing.assert_array_equal(grid[2 * h:, :h], plain[1])  # left column: row sources
    assert not np.array_equal(grid[2 * h:, 2 * h:], plain[1])  # 9 with 11's coarse styles
    assert not grid[:h, :h].any()


def test_mixed_cell_takes_the_column_styles(exported: tuple) -> None:
    _, path = exported
    model = ganedge.load(path)
    row, col = model.mapping(model.latents([1]), 0), model.mapping(model.latents([2]), 0)
    expected = row.copy()
    expected[:, :3] = col[:, :3]
    grid = model.mix([1], [2], [0, 1, 2], label=0)
    np.testing.assert_array_equal(grid[16:, 16:], to_uint8_nhwc(model.synthesis(expected))[0])


def test_walk_lerps_in_w_through_the_keyframes(exported: tuple) -> None:
    _, path = exported
    model = ganedge.load(path)
    frames = model.walk([4, 8], frames=4, easing="linear", loop=False, label=1)
    keys = model.sample([4, 8], labels=1)
    assert len(frames) == 5
    np.testing.assert_array_equal(frames[0], keys[0])
    np.testing.assert_array_equal(frames[-1], keys[1])
    ws = model.mapping(model.latents([4, 8]), 1)
    halfway = to_uint8_nhwc(model.synthesis((ws[:1] + ws[1:]) / 2))[0]
    assert np.abs(frames[2].astype(int) - halfway).max() <= 1


def test_bad_inputs_name_the_parameter(exported: tuple) -> None:
    _, path = exported
    model = ganedge.load(path)
    with pytest.raises(InputError, match=r"ws: expected shape \(B, 6, 8\)"):
        model.synthesis(np.zeros((2, 5, 8), np.float32))
    with pytest.raises(InputError, match="truncation_cutoff"):
        model.mapping(model.latents([0]), 0, truncation=0.5, truncation_cutoff=9)
    with pytest.raises(InputError, match="styles"):
        model.mix([1], [2], [0, 6], label=0)
    with pytest.raises(InputError, match="needs a StyleGAN model"):
        ganedge.load().mapping(np.zeros((1, 64), np.float32))


def test_cli_mix_sample_and_walk(exported: tuple, tmp_path: Path) -> None:
    _, path = exported
    runner = CliRunner()
    out = tmp_path / "mix.png"
    result = runner.invoke(app, ["mix", str(path), "--rows", "85,100", "--cols", "55,821,3",
                                 "--styles", "0-2", "--label", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (4 * 16, 3 * 16)
    bad = runner.invoke(app, ["mix", str(path), "--rows", "1", "--cols", "2", "--styles", "4-9"])
    assert bad.exit_code != 0 and "--styles: indices must lie in [0, 5]" in bad.output
    plain = runner.invoke(app, ["mix", "--rows", "1", "--cols", "2", "-o", str(tmp_path / "x.png")])
    assert plain.exit_code != 0 and "not a StyleGAN model" in plain.output
    walk = runner.invoke(app, ["walk", str(path), "--seeds", "1-2", "--frames", "2", "--label",
                               "0", "-o", str(tmp_path / "w.gif")])
    assert walk.exit_code == 0 and "lerp in W" in walk.output
    sample = runner.invoke(app, ["sample", str(path), "-n", "4", "--truncation", "0",
                                 "--label", "2", "-o", str(tmp_path / "s.png")])
    assert sample.exit_code == 0, sample.output
