"""The HTTP requests ``ganedge serve`` accepts, parsed and checked before any work is queued.

Pure functions of the request's text and the model's contract (no Ray, no session), so every
bound is tested without a server: a request that passes here can only fail in the model itself.
Each failure is an :class:`~ganedge.errors.InputError` whose parameter is the query or JSON field
at fault; the service answers it as ``{"error": "field: what was wrong and the fix"}``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ganedge.budgets import MAX_SEED, check_bytes, check_float, check_int
from ganedge.contract import ModelContract
from ganedge.errors import InputError

SAMPLE_FIELDS = ("seed", "truncation", "label")
GENERATE_FIELDS = ("seeds", "latents", "truncation", "labels", "grid")


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; beyond it the request gets a 4xx, never a replica's memory."""

    max_images: int = 64  # images per POST /generate
    max_response_bytes: int = 64 << 20  # uint8 pixels of one request's images (before PNG)
    max_body_bytes: int = 4 << 20  # bytes of a POST body (a 64 × 512 latent list is ~0.7 MB)
    max_query_chars: int = 1024  # characters of a query string

    def __post_init__(self) -> None:
        for name in ("max_images", "max_response_bytes", "max_body_bytes", "max_query_chars"):
            check_int(getattr(self, name), name, 1)


@dataclass(frozen=True)
class Job:
    """One image to render: a seed's, or a given latent's (``seed`` None)."""

    truncation: float  # ψ, in [0, 1]
    label: int | None  # the class of a conditional model (resolved), else None
    seed: int | None = None
    z: np.ndarray | None = None  # (latent_dim,) float32 when the client sent latents

    def group(self) -> tuple[str, float]:
        """Jobs of one group run in one session call: same kind, same ψ."""
        return ("seed" if self.seed is not None else "latent", self.truncation)


def parse_sample(query: Sequence[tuple[str, str]], contract: ModelContract,
                 limits: Limits) -> Job:
    """``GET /sample?seed=42&truncation=0.7&label=3``: one seed's image."""
    fields = _query_fields(query, limits)
    if "seed" not in fields:
        raise InputError("missing: ask for e.g. /sample?seed=42", param="seed")
    seed = _query_int(fields["seed"], "seed", MAX_SEED)
    truncation = _query_float(fields.get("truncation", "1"), "truncation")
    label = None
    if "label" in fields:
        label = _query_int(fields["label"], "label", MAX_SEED)
    return sample_job(seed, truncation=truncation, label=label, contract=contract)


def sample_job(seed: object, *, truncation: object, label: object,
               contract: ModelContract) -> Job:
    """One seed's image from Python values (a DeploymentHandle's caller): the checks of
    ``GET /sample``, on values instead of query text; ``label`` None means seed % num_classes."""
    seed = check_int(seed, "seed", 0, MAX_SEED)
    return Job(truncation=_truncation(truncation), seed=seed,
               label=_labels(contract, label, [seed], 1, "label")[0])


@dataclass(frozen=True)
class Generate:
    """A checked ``POST /generate``: its images in request order, and whether the answer is one
    grid PNG of them rather than a PNG each."""

    jobs: list[Job]
    grid: bool = False


def parse_generate(body: bytes, contract: ModelContract, limits: Limits) -> Generate:
    """``POST /generate`` with a JSON object: ``seeds`` (a list of seeds) or ``latents`` (a list
    of latent_dim numbers per image), and optionally ``truncation``, ``labels`` (one class for
    every image, or one per image) and ``grid`` (true: one grid PNG of them all)."""
    fields = _json_object(body, limits)
    unknown = sorted(set(fields) - set(GENERATE_FIELDS))
    if unknown:
        raise InputError(f"unknown field(s) {', '.join(map(repr, unknown))}: use "
                         f"{', '.join(GENERATE_FIELDS)}", param="body")
    if ("seeds" in fields) == ("latents" in fields):
        raise InputError("give either `seeds` or `latents`, not both or neither", param="body")
    truncation = _truncation(fields.get("truncation", 1.0))
    grid = fields.get("grid", False)
    if not isinstance(grid, bool):
        raise InputError(f"must be true or false (got {str(grid)[:40]!r})", param="grid")
    if "seeds" in fields:
        seeds = _seeds(fields["seeds"], limits)
        _check_pixels(len(seeds), contract, limits, "seeds")
        labels = _labels(contract, fields.get("labels"), seeds, len(seeds))
        return Generate([Job(truncation=truncation, seed=s, label=c)
                         for s, c in zip(seeds, labels)], grid)
    z = _latents(fields["latents"], contract, limits)
    _check_pixels(len(z), contract, limits, "latents")
    if contract.conditional and fields.get("labels") is None:
        raise InputError(f"this model is conditional ({contract.num_classes} classes): give "
                         "`labels` with `latents`", param="labels")
    labels = _labels(contract, fields.get("labels"), None, len(z))
    return Generate([Job(truncation=truncation, z=row, label=c) for row, c in zip(z, labels)],
                    grid)


def _query_fields(query: Sequence[tuple[str, str]], limits: Limits) -> dict[str, str]:
    total = sum(len(k) + len(v) + 2 for k, v in query)
    if total > limits.max_query_chars:
        raise InputError(f"is {total:,} characters long (at most {limits.max_query_chars:,}): "
                         "ask with seed, truncation and label only", param="query")
    fields: dict[str, str] = {}
    for key, value in query:
        if key not in SAMPLE_FIELDS:
            raise InputError(f"unknown parameter {key[:40]!r}: use {', '.join(SAMPLE_FIELDS)}",
                             param="query")
        if key in fields:
            raise InputError("given twice: give it once", param=key)
        fields[key] = value
    return fields


def _query_int(text: str, param: str, high: int) -> int:
    # int() alone would take "1_000" and " 5"; a query value is plain digits
    if not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        raise InputError(f"must be a whole number in [0, {high}] (got {text[:40]!r})",
                         param=param)
    return check_int(int(text), param, 0, high)


def _query_float(text: str, param: str) -> float:
    try:
        return float(text) if len(text) <= 32 else math.nan
    except ValueError:
        raise InputError(f"must be a number in [0, 1] (got {text[:40]!r})", param=param) from None


def _truncation(value: object) -> float:
    return check_float(value, "truncation", 0.0, 1.0,
                       ": 1 is no truncation, 0 the mean image")


def _json_object(body: bytes, limits: Limits) -> dict[str, object]:
    if len(body) > limits.max_body_bytes:  # the service stops reading past this; checked again
        raise InputError(f"is over {limits.max_body_bytes:,} bytes: ask for fewer images",
                         param="body")
    try:
        fields = json.loads(body.decode("utf-8"), object_pairs_hook=_once_each)
    except _GivenTwice as twice:
        raise InputError("given twice: give it once", param=str(twice)[:40]) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError('must be a JSON object, e.g. {"seeds": [1, 2, 3]}', param="body") \
            from None
    if not isinstance(fields, dict):
        raise InputError(f'must be a JSON object, e.g. {{"seeds": [1, 2, 3]}} (got '
                         f"{type(fields).__name__})", param="body")
    return fields


class _GivenTwice(Exception):
    """A JSON object named one key twice (json keeps the last silently; the query refuses it)."""


def _once_each(pairs: list[tuple[str, object]]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for key, value in pairs:
        if key in fields:
            raise _GivenTwice(key)
        fields[key] = value
    return fields


def _seeds(value: object, limits: Limits) -> list[int]:
    if not isinstance(value, list) or not value:
        raise InputError("must be a non-empty list of seeds, e.g. [1, 2, 3]", param="seeds")
    check_int(len(value), "seeds", 1, limits.max_images, hint=": ask in several requests")
    return [check_int(s, "seeds", 0, MAX_SEED) for s in value]


def _latents(value: object, contract: ModelContract, limits: Limits) -> np.ndarray:
    """(n, latent_dim) float32, finite."""
    d = contract.latent_dim
    if not isinstance(value, list) or not value:
        raise InputError(f"must be a non-empty list of latents of {d} numbers each",
                         param="latents")
    check_int(len(value), "latents", 1, limits.max_images, hint=": ask in several requests")
    for row in value:
        if not isinstance(row, list) or len(row) != d or not all(
                isinstance(v, numbers.Real) and not isinstance(v, bool) for v in row):
            raise InputError(f"each latent must be a list of {d} numbers", param="latents")
    with np.errstate(over="ignore"):  # beyond float32 becomes inf: refused just below
        z = np.asarray(value, np.float64).astype(np.float32)
    if not np.isfinite(z).all():
        raise InputError("holds NaN, Inf or a number beyond float32: latents must be finite",
                         param="latents")
    return z


def _labels(contract: ModelContract, value: object, seeds: list[int] | None,
            count: int, param: str = "labels") -> list[int | None]:
    """One class per image: the given one(s), or seed % num_classes, or None (unconditional)."""
    k = contract.num_classes
    if not contract.conditional:
        if value is not None:
            raise InputError("this model is unconditional: drop it", param=param)
        return [None] * count
    if value is None:
        assert seeds is not None  # latents without labels were refused by the caller
        return [s % k for s in seeds]
    values = value if isinstance(value, list) else [value] * count
    if len(values) != count:
        raise InputError(f"expected one class id or {count} (got {len(values)})", param=param)
    return [check_int(c, param, 0, k - 1) for c in values]


def _check_pixels(count: int, contract: ModelContract, limits: Limits, param: str) -> None:
    h, w, c = contract.height, contract.width, contract.channels
    check_bytes(count, h * w * c, param, limits.max_response_bytes,
                f"{count:,} images of {h}x{w}x{c}", "ask in several requests")


def error_body(message: str) -> bytes:
    """The one-line JSON body of every error answer."""
    return json.dumps({"error": " ".join(message.split())}).encode() + b"\n"


def contract_info(contract: ModelContract, extra: Mapping[str, object]) -> dict[str, object]:
    """GET /info: the model's contract (its JSON fields) and the service's own settings."""
    from dataclasses import asdict

    return {"contract": asdict(contract), **extra}
