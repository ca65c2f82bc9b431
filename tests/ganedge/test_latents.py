import numpy as np
import pytest

from ganedge.errors import InputError
from ganedge.sampling.latents import latents_for_seeds, parse_seeds


def test_one_seed_one_latent_whatever_the_batch() -> None:
    together = latents_for_seeds([3, 4, 5], 16)
    apart = np.concatenate([latents_for_seeds([s], 16) for s in (3, 4, 5)])
    np.testing.assert_array_equal(together, apart)
    assert together.dtype == np.float32 and not np.array_equal(together[0], together[1])


def test_latents_are_standard_normal() -> None:
    z = latents_for_seeds(range(200), 64)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_parse_seed_ranges() -> None:
    assert parse_seeds("0-3,100,7-8") == [0, 1, 2, 3, 100, 7, 8]


@pytest.mark.parametrize("spec", ["a", "5-2", "1,,2", "-3"])
def test_malformed_seeds_are_rejected(spec: str) -> None:
    with pytest.raises(InputError, match="^seeds: "):
        parse_seeds(spec)
