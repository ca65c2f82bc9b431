"""The Python API: seeds, truncation, labels, raw output, threads, IO binding, bounded memory."""

from __future__ import annotations

import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pytest

import ganedge
from ganedge.errors import ContractError, InputError
from ganedge.io.imaging import to_uint8_nhwc
from ganedge.runtime.model import GeneratorModel
from tests.ganedge.graphs import tiny_generator

SEEDS = [5, 0, 63, 7, 100, 1, 2, 3, 4, 9]


@pytest.fixture(scope="module")
def gen(models: dict[str, Path]) -> GeneratorModel:
    return ganedge.load(models["float"], provider="cpu")


def test_sample_is_uint8_nhwc(gen: GeneratorModel) -> None:
    images = gen.sample(5)
    assert images.shape == (5, 4, 4, 1) and images.dtype == np.uint8
    assert gen.sample().shape[0] == 64 and gen.providers == ["CPUExecutionProvider"]


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_one_seed_one_image_whatever_batch_order_or_n(gen: GeneratorModel, batch_size: int) -> None:
    alone = np.concatenate([gen.sample([s]) for s in SEEDS])
    np.testing.assert_array_equal(gen.sample(SEEDS, batch_size=batch_size), alone)
    # seed 7 sits inside a run of 20 seeds from 0 and inside a reversed list
    np.testing.assert_array_equal(gen.sample(20, batch_size=batch_size)[7], alone[3])
    np.testing.assert_array_equal(gen.sample(SEEDS[::-1], batch_size=batch_size), alone[::-1])
    assert len({img.tobytes() for img in alone}) == len(SEEDS)


def test_iter_samples_chunks_match_sample(gen: GeneratorModel) -> None:
    chunks = list(gen.iter_samples(range(10), batch_size=4))
    assert [seeds for seeds, _ in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(np.concatenate([imgs for _, imgs in chunks]), gen.sample(10))


def test_generate_returns_raw_float_output(gen: GeneratorModel) -> None:
    z = gen.latents([3, 4])
    raw = gen.generate(z)
    assert raw.shape == (2, 1, 4, 4) and raw.dtype == np.float32
    assert raw.min() >= -1 and raw.max() <= 1
    np.testing.assert_array_equal(to_uint8_nhwc(raw), gen.sample([3, 4]))
    with pytest.raises(InputError, match=r"z: expected shape \(B, 8\)"):
        gen.generate(np.zeros((2, 5), np.float32))


def test_uint8_tail_model_gives_the_same_images(gen: GeneratorModel,
                                                models: dict[str, Path]) -> None:
    u8 = ganedge.load(models["uint8"])
    assert u8.generate(u8.latents([1])).dtype == np.uint8
    np.testing.assert_array_equal(u8.sample(SEEDS, batch_size=3), gen.sample(SEEDS))


def test_truncation_pulls_latents_to_the_zero_mean(gen: GeneratorModel) -> None:
    np.testing.assert_array_equal(gen.sample(SEEDS, truncation=1.0), gen.sample(SEEDS))
    mean_images = gen.sample(SEEDS, truncation=0.0)
    assert all((img == mean_images[0]).all() for img in mean_images)
    np.testing.assert_array_equal(mean_images[0], to_uint8_nhwc(gen.generate(np.zeros((1, 8))))[0])
    half = gen.sample([3], truncation=0.5)
    np.testing.assert_array_equal(half, to_uint8_nhwc(gen.generate(0.5 * gen.latents([3]))))
    for psi in (-0.1, 1.01):
        with pytest.raises(InputError, match=r"^truncation: ψ must be in \[0, 1\]") as caught:
            gen.sample(2, truncation=psi)
        assert caught.value.param == "truncation", "the API names its parameter, not a flag"


def test_conditional_labels(models: dict[str, Path]) -> None:
    cond = ganedge.load(models["cond"])
    assert cond.contract.num_classes == 3
    default = cond.sample([0, 1, 2, 3, 4])
    np.testing.assert_array_equal(default, cond.sample([0, 1, 2, 3, 4], labels=[0, 1, 2, 0, 1]))
    all_two = cond.sample([0, 1, 2], labels=2)
    np.testing.assert_array_equal(all_two[2], default[2])
    assert not (all_two[0] == default[0]).all()
    with pytest.raises(InputError, match=r"labels: must be in \[0, 2\] \(got 3\)"):
        cond.sample(2, labels=3)
    with pytest.raises(InputError, match="expected one label or 2"):
        cond.sample(2, labels=[0, 1, 2])
    with pytest.raises(InputError, match="this model is conditional"):
        cond.generate(cond.latents([0]))


def test_label_for_unconditional_model_is_rejected(gen: GeneratorModel) -> None:
    with pytest.raises(InputError, match="labels: this model is unconditional"):
        gen.sample(2, labels=1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_or_seeds": 0}, r"n_or_seeds: must be at least 1 \(got 0\)"),
    ({"n_or_seeds": []}, "seeds: must name at least one seed"),
    ({"n_or_seeds": [-1]}, r"seeds: must be at least 0 \(got -1\)"),
    ({"n_or_seeds": 2, "seeds": [1]}, "seeds: give a count or seeds, not both"),
    ({"n_or_seeds": 2, "batch_size": 0}, "batch_size: must be at least 1"),
])
def test_bad_sample_arguments(gen: GeneratorModel, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        gen.sample(**kwargs)


def test_threads_share_one_model_and_get_the_same_bytes(models: dict[str, Path]) -> None:
    for io_binding in (False, True):
        shared = GeneratorModel(models["float"], threads=1, io_binding=io_binding)
        jobs = [list(range(i * 7, i * 7 + 7 + i % 3)) for i in range(24)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            parallel = list(pool.map(partial(shared.sample, batch_size=4), jobs))
        for seeds, images in zip(jobs, parallel):
            np.testing.assert_array_equal(images, shared.sample(seeds))


def test_io_binding_path_matches_plain_run(models: dict[str, Path]) -> None:
    plain = GeneratorModel(models["cond"])
    bound = GeneratorModel(models["cond"], io_binding=True)
    assert bound.io_binding and not plain.io_binding
    for batch_size in (64, 4, 3, 2, 1, 5):  # more sizes than the buffer cache keeps
        np.testing.assert_array_equal(bound.sample(30, batch_size=batch_size), plain.sample(30))


def test_streaming_memory_does_not_grow_with_n(tmp_path: Path) -> None:
    # 32×32 RGB: one image is 3 kB as uint8 and 12 kB as float, so keeping 2048 would cost 6 MB+
    big = ganedge.load(tiny_generator(tmp_path / "big.onnx", channels=3, size=32))

    def peak(n: int) -> int:
        tracemalloc.start()
        for _ in big.iter_samples(range(n), batch_size=64):
            pass
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(128), peak(2048)
    assert large < 3 * 64 * 12 * 1024, large  # about one float batch in flight, not 6 MB
    assert large - small < 200_000, (small, large)  # 16× the images, no more memory


def test_third_party_model_needs_latent_dim(gen: GeneratorModel, models: dict[str, Path]) -> None:
    with pytest.raises(ContractError,
                       match="latent_dim: not given, and the model has no ganedge contract"):
        ganedge.load(models["bare"])
    bare = ganedge.load(models["bare"], latent_dim=8)
    assert (bare.contract.channels, bare.contract.height) == (1, 4)
    np.testing.assert_array_equal(bare.sample(SEEDS), gen.sample(SEEDS))
    with pytest.raises(InputError, match="latent_dim: the model's input"):
        ganedge.load(models["bare"], latent_dim=9)
    with pytest.raises(InputError, match="latent_dim: the model's contract says 8"):
        ganedge.load(models["float"], latent_dim=9)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        ganedge.load(tmp_path / "nope.onnx")


def test_bundled_default_model_loads() -> None:
    gen = ganedge.load()
    assert gen.path.name == "digits.onnx" and gen.path.stat().st_size < 2_000_000
    images = gen.sample(16)
    assert images.shape == (16, 32, 32, 1) and images.std() > 10


def test_bundled_dcgan_is_batch_invariant_too() -> None:
    # a real conv generator, not just the MatMul toy: batch rows must not influence each other
    gen = ganedge.load()
    seeds = [11, 3, 500, 42, 0]
    together = gen.sample(seeds, batch_size=64)
    np.testing.assert_array_equal(together, np.concatenate([gen.sample([s]) for s in seeds]))
    z = gen.latents(seeds)
    np.testing.assert_array_equal(gen.generate(z)[3], gen.generate(z[3:4])[0])
