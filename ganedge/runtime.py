"""The embeddable sampler: one ONNX Runtime session behind a small, torch-free API.

Example:
    >>> import ganedge
    >>> gen = ganedge.load("model.onnx")          # doctest: +SKIP
    >>> images = gen.sample(16, seed=0)           # doctest: +SKIP
    >>> images.shape                               # doctest: +SKIP
    (16, 32, 32, 1)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ganedge import providers as prov
from ganedge.contract import KEY_PARITY, KEY_PROVENANCE, ModelContract, read_json_metadata
from ganedge.errors import InputError, ProviderError
from ganedge.imaging import to_uint8_nhwc
from ganedge.latents import latents_for_seeds
from ganedge.session import create_session

DEFAULT_BATCH_SIZE = 64


class GeneratorModel:
    """An exported generator loaded for sampling; create it with :func:`ganedge.load`."""

    def __init__(self, path: str | Path, provider: str = "auto", threads: int | None = None,
                 strict_provider: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"model: {str(self.path)!r} does not exist: give a .onnx file path")
        self.requested = prov.requested_providers(provider)
        self.session = create_session(self.path, self.requested, threads)
        props = self.session.get_modelmeta().custom_metadata_map
        self.contract = ModelContract.from_metadata(props)
        self.provenance = read_json_metadata(props, KEY_PROVENANCE)
        self.parity = read_json_metadata(props, KEY_PARITY)
        self._check_providers(provider, strict_provider)

    @property
    def providers(self) -> list[str]:
        """The execution providers the session actually runs on, in priority order."""
        return list(self.session.get_providers())

    def latents(self, seeds: Sequence[int]) -> np.ndarray:
        """The (len(seeds), latent_dim) float32 latents of these seeds."""
        return latents_for_seeds(seeds, self.contract.latent_dim)

    def generate(self, z: np.ndarray) -> np.ndarray:
        """Run the graph on latents (B, latent_dim) and return its raw output array."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.contract.latent_dim:
            raise InputError(
                f"z: expected shape (B, {self.contract.latent_dim}) (got {tuple(z.shape)})"
            )
        (out,) = self.session.run([self.contract.output_name], {self.contract.input_name: z})
        return out

    def sample(self, n: int | None = None, seed: int = 0, seeds: Sequence[int] | None = None,
               batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Images as uint8 (N, H, W, C): either ``n`` images for seeds seed..seed+n-1, or ``seeds``.

        One seed always gives the same image, however the seeds are batched.
        """
        seeds = _resolve_seeds(n, seed, seeds)
        if batch_size < 1:
            raise InputError(f"--batch-size: must be at least 1 (got {batch_size})")
        chunks = [self._images(seeds[i : i + batch_size]) for i in range(0, len(seeds), batch_size)]
        return np.concatenate(chunks, axis=0)

    def _images(self, seeds: Sequence[int]) -> np.ndarray:
        out = self.generate(self.latents(seeds))
        if self.contract.output_dtype == "uint8":
            return out
        return to_uint8_nhwc(out)

    def _check_providers(self, provider: str, strict: bool) -> None:
        wanted = self.requested[0]
        if wanted == prov.CPU or wanted in self.providers:
            return
        message = f"asked for {wanted} but the session runs on {self.providers[0]}: {prov.fallback_cause()}"
        if strict:
            raise ProviderError(f"--provider {provider}: {message}")
        if provider != "auto":
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def load(path: str | Path, provider: str = "auto", threads: int | None = None,
         strict_provider: bool = False) -> GeneratorModel:
    """Load an exported ganedge model for sampling.

    ``provider`` is "auto" (CUDA when a session really runs on it, else CPU), "cpu", "cuda" or
    "tensorrt"; ``threads`` sets ONNX Runtime's intra-op threads on CPU (None: ORT's default).
    """
    return GeneratorModel(path, provider=provider, threads=threads, strict_provider=strict_provider)


def _resolve_seeds(n: int | None, seed: int, seeds: Sequence[int] | None) -> list[int]:
    if seeds is not None:
        if n is not None:
            raise InputError("-n/--seeds: give one of them, not both")
        if len(seeds) == 0:
            raise InputError("--seeds: must name at least one seed")
        return [int(s) for s in seeds]
    n = 64 if n is None else n
    if n < 1:
        raise InputError(f"-n: must be at least 1 (got {n})")
    if seed < 0:
        raise InputError(f"--seed: must be >= 0 (got {seed})")
    return list(range(seed, seed + n))
