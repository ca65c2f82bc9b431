"""The checkpoint loaders check what they read before building anything: every hostile case is
one CheckpointError from the Python API, every registered architecture's own checkpoint passes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from ganedge.errors import CheckpointError, ConfigError
from tests.trainer.hostile_checkpoints import ALL_CASES, MARKER, TINY, build_corpus, tiny_checkpoint
from trainer import checkpoint_schema
from trainer.checkpoint import (
    generator_from_checkpoint,
    load_checkpoint,
    resume_config,
    save_generator,
)
from trainer.config import ArchConfig, preset
from trainer.loop import train
from trainer.models import ARCHITECTURES, build_generator


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("valid"))


@pytest.fixture(scope="module")
def corpus(valid: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_corpus(valid, tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in ALL_CASES if not c.resume_only], ids=lambda c: c.name)
def test_the_export_loaders_refuse_each_hostile_checkpoint(case, corpus: dict[str, Path]) -> None:
    path = corpus[case.name]
    with pytest.raises(CheckpointError) as info:
        generator_from_checkpoint(load_checkpoint(path), path=path)
    assert case.words in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert not (path.parent / MARKER).exists()


@pytest.mark.slow
def test_resume_loader_refuses_checkpoints_without_training_state(corpus: dict[str, Path]) -> None:
    for case in ALL_CASES:
        if case.name in ("optimizer_for_other_model", "rng_wrong_size"):
            assert resume_config(corpus[case.name]) is not None  # the trainer refuses these
            continue
        with pytest.raises(CheckpointError) as info:
            resume_config(corpus[case.name])
        assert case.words in str(info.value), case.name


@pytest.mark.slow
def test_a_checkpoint_held_as_a_dict_is_checked_too(valid: Path) -> None:
    ckpt = copy.deepcopy(torch.load(valid, weights_only=True))
    ckpt["arch_config"]["latent_dim"] = 10**12
    with pytest.raises(CheckpointError,
                       match=r"checkpoint: '\(in memory\)': arch_config.latent_dim"):
        generator_from_checkpoint(ckpt)


@pytest.mark.slow
def test_an_archive_that_would_unpack_past_the_budget_is_refused_unread(
        valid: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint_schema, "FILE_BUDGET_BYTES", 1 << 10)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran"))
    with pytest.raises(CheckpointError, match="would unpack to 0.0 GiB, over the 0 GiB budget"):
        load_checkpoint(valid)


SMALL = {"stylegan2": ArchConfig(image_size=16, latent_dim=8, w_dim=8, mapping_layers=2,
                                 channel_max=16)}


@pytest.mark.parametrize("arch", ARCHITECTURES.names())
def test_every_registered_architecture_passes_its_own_checks(arch: str, tmp_path: Path) -> None:
    cfg = SMALL.get(arch, TINY)
    torch.manual_seed(0)
    g = build_generator(arch, cfg).eval()
    path = save_generator(g, tmp_path / "g.pt", arch=arch, arch_config=cfg, generator_ema=g)
    rebuilt = generator_from_checkpoint(load_checkpoint(path), path=path)
    for key, value in g.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key


def test_training_a_model_over_the_budget_is_refused_before_building(tmp_path: Path) -> None:
    cfg = preset("digits-dcgan", steps=1, model=ArchConfig(image_size=128, base_channels=4096))
    with pytest.raises(ConfigError, match=r"model: dcgan at image_size 128, base_channels 4096, "
                                          r"latent_dim 64 would take [\d,.]+ GiB, over the 2 GiB"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
