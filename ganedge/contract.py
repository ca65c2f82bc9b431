"""The I/O contract of an exported ganedge model: the one place that defines it.

Export writes it into the ONNX file's ``metadata_props``; the runtime reads it back. The contract
is stored as JSON (never evaluated) under ``ganedge.*`` keys together with a format version, so a
runtime can refuse files written by a newer, incompatible exporter.

Example:
    >>> c = ModelContract(latent_dim=64, channels=1, height=32, width=32)
    >>> ModelContract.from_metadata(c.to_metadata()) == c
    True
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from ganedge import budgets
from ganedge.errors import ContractError, GanEdgeError

FORMAT_VERSION = 2
"""Bumped whenever a runtime of the previous version could misread a model. Version 2 added the
StyleGAN (mapping + synthesis) fields; direct z → image models are still written as version 1,
so older runtimes keep reading them."""

KEY_PREFIX = "ganedge."
KEY_FORMAT_VERSION = KEY_PREFIX + "format_version"
KEY_CONTRACT = KEY_PREFIX + "contract"
KEY_PROVENANCE = KEY_PREFIX + "provenance"
KEY_PARITY = KEY_PREFIX + "parity"

LATENT_DISTRIBUTIONS = ("standard_normal",)
OUTPUT_LAYOUTS = ("NCHW", "NHWC")
OUTPUT_DTYPES = ("float32", "uint8")
NOISE_MODES = ("const", "none")  # StyleGAN synthesis noise in an exported graph
OUTPUT_RANGES = {"-1,1": (-1.0, 1.0), "0,1": (0.0, 1.0)}  # float output: tanh or sigmoid scale
UINT8_RANGE = (0.0, 255.0)
_TYPES = {"int": int, "str": str, "bool": bool}  # annotation → the JSON type a field must have
_LIMITS = {"latent_dim": (1, budgets.MAX_LATENT_DIM), "height": (1, budgets.MAX_SIDE),
           "width": (1, budgets.MAX_SIDE), "num_classes": (0, budgets.MAX_NUM_CLASSES),
           "num_ws": (0, budgets.MAX_NUM_WS), "w_dim": (0, budgets.MAX_LATENT_DIM)}


@dataclass(frozen=True)
class ModelContract:
    """What an exported generator takes and returns.

    Input ``input_name``: (B, latent_dim) float32 drawn from ``latent_distribution``; when
    ``num_classes > 0`` also ``label_input_name``: (B,) int64 class ids in [0, num_classes).
    Output ``output_name``: float32 (B, C, H, W) in ``output_range`` ([-1, 1] or [0, 1]), or
    uint8 (B, H, W, C) in [0, 255].

    A StyleGAN model (``num_ws > 0``) holds two independent subgraphs in one file: the mapping,
    ``input_name`` (+ labels) → ``ws_output_name`` (B, num_ws, w_dim) untruncated, and the
    synthesis, ``ws_input_name`` (B', num_ws, w_dim) → ``output_name``. Every input must be fed, so
    a caller feeds the unused side an empty (0, …) batch. Truncation happens in W around ``w_avg``;
    the synthesis noise is constant (baked in), so a seed always gives the same image.
    """

    latent_dim: int  # length of one latent vector z
    channels: int  # 1 for grayscale, 3 for RGB
    height: int  # output image height in pixels
    width: int  # output image width in pixels
    input_name: str = "z"  # ONNX input that takes the latents
    output_name: str = "images"  # ONNX output that holds the images
    latent_distribution: str = "standard_normal"  # how z is drawn; the runtime draws it
    output_dtype: str = "float32"  # "float32" or "uint8" (display-ready tail in the graph)
    output_layout: str = "NCHW"  # NCHW for float32 output, NHWC for uint8 output
    num_classes: int = 0  # 0: unconditional; >0: a class-label input exists
    label_input_name: str = "label"  # ONNX input that takes class ids when num_classes > 0
    num_ws: int = 0  # StyleGAN: w vectors the synthesis takes; 0 for a direct z → image model
    w_dim: int = 0  # StyleGAN: length of one w
    w_avg: tuple[float, ...] = ()  # StyleGAN: the tracked mean of w, the truncation centre
    ws_input_name: str = "ws"  # StyleGAN: synthesis input (B, num_ws, w_dim) float32
    ws_output_name: str = "mapped_ws"  # StyleGAN: mapping output (B, num_ws, w_dim) float32
    noise_mode: str = "const"  # StyleGAN: per-layer noise, constant maps stored in the graph
    # float output's range: "-1,1" (tanh) or "0,1" (sigmoid); files without it are "-1,1"
    output_range: str = "-1,1"

    def __post_init__(self) -> None:
        _check_types(self)
        for name, (low, high) in _LIMITS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ContractError(f"contract.{name}: must be in [{low}, {high:,}] (got "
                                    f"{value:,}): re-export the model")
        if self.height * self.width > budgets.MAX_IMAGE_PIXELS:
            raise ContractError(f"contract: {self.height}x{self.width} images exceed "
                                f"{budgets.MAX_IMAGE_PIXELS:,} pixels: re-export the model")
        if self.channels not in (1, 3):
            raise ContractError(f"contract.channels: must be 1 or 3 (got {self.channels})")
        _check_choice("latent_distribution", self.latent_distribution, LATENT_DISTRIBUTIONS)
        _check_choice("output_dtype", self.output_dtype, OUTPUT_DTYPES)
        _check_choice("output_layout", self.output_layout, OUTPUT_LAYOUTS)
        _check_choice("output_range", self.output_range, tuple(OUTPUT_RANGES))
        if self.num_ws:
            self._check_stylegan()

    def _check_stylegan(self) -> None:
        if self.num_ws < 0 or self.w_dim < 1:
            raise ContractError(f"contract: num_ws {self.num_ws} and w_dim {self.w_dim} must be "
                                "at least 1 for a StyleGAN model")
        numbers = all(isinstance(v, (int, float)) and math.isfinite(v) for v in self.w_avg)
        if len(self.w_avg) != self.w_dim or not numbers:
            raise ContractError(f"contract.w_avg: must be {self.w_dim} finite numbers "
                                f"(got {len(self.w_avg)})")
        _check_choice("noise_mode", self.noise_mode, NOISE_MODES)
        if self.output_dtype != "float32":
            raise ContractError("contract.output_dtype: a StyleGAN model outputs float32")

    @property
    def value_range(self) -> tuple[float, float]:
        """The (low, high) range of the output values."""
        return UINT8_RANGE if self.output_dtype == "uint8" else OUTPUT_RANGES[self.output_range]

    @property
    def conditional(self) -> bool:
        """Whether the model takes a class label."""
        return self.num_classes > 0

    @property
    def is_stylegan(self) -> bool:
        """Whether the file holds a StyleGAN mapping + synthesis pair (see the class doc)."""
        return self.num_ws > 0

    def to_metadata(self) -> dict[str, str]:
        """The ``metadata_props`` entries that carry this contract."""
        return {
            KEY_FORMAT_VERSION: str(FORMAT_VERSION if self.is_stylegan else 1),
            KEY_CONTRACT: json.dumps(asdict(self), sort_keys=True),
        }

    @classmethod
    def from_metadata(cls, props: Mapping[str, str]) -> ModelContract:
        """Read and validate a contract from ONNX ``metadata_props``.

        Raises ContractError when keys are missing, malformed, or from a newer format version.
        """
        if KEY_CONTRACT not in props or KEY_FORMAT_VERSION not in props:
            raise ContractError(
                "not given, and the model has no ganedge contract in its metadata: export it with "
                "`ganedge export`, or give the latent size of this third-party ONNX generator",
                param="latent_dim")
        version = _parse_version(props[KEY_FORMAT_VERSION])
        if version > FORMAT_VERSION:
            raise ContractError(
                f"model contract is format {version}, this ganedge reads up to {FORMAT_VERSION}: "
                "upgrade ganedge (pip install -U ganedge)"
            )
        return cls.from_dict(_parse_json(props[KEY_CONTRACT], KEY_CONTRACT))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelContract:
        """Build a contract from a plain dict, rejecting unknown or missing fields."""
        reject_unknown_fields(cls, data, ContractError(
            f"{KEY_CONTRACT}: unknown fields {{unknown}}: re-export the model"))
        data = dict(data)
        if isinstance(data.get("w_avg"), list):
            data["w_avg"] = tuple(data["w_avg"])
        try:
            return cls(**data)
        except TypeError as exc:
            raise ContractError(f"{KEY_CONTRACT}: {exc}: re-export the model") from None


def reject_unknown_fields(cls: type, data: Mapping[str, Any], error: GanEdgeError) -> None:
    """Raise ``error`` when ``data`` has keys that are not fields of the dataclass ``cls``; the
    error's message may name them with ``{unknown}``. Shared by every ``from_dict`` that reads
    stored data (a contract, a training config), so none silently drops a field."""
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise type(error)(error.message.format(unknown=unknown), param=error.param)


def read_json_metadata(props: Mapping[str, str], key: str) -> dict[str, Any]:
    """The JSON object stored under ``key`` (provenance, parity), or {} when absent."""
    if key not in props:
        return {}
    return _parse_json(props[key], key)


def _check_types(contract: ModelContract) -> None:
    """Each field holds its annotated JSON type: 64.0 or true is not a latent size."""
    for field in fields(contract):
        expected = _TYPES.get(str(field.type))
        value = getattr(contract, field.name)
        if expected is not None and (type(value) is not expected):
            raise ContractError(f"contract.{field.name}: must be {field.type} (got {value!r}): "
                                "re-export the model")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ContractError(f"contract.{name}: must be one of {list(choices)} (got {value!r})")


def _parse_version(raw: str) -> int:
    try:
        if len(raw) > 9 or not raw.strip().lstrip("-").isdigit():
            raise ValueError(raw)
        return int(raw)
    except ValueError:
        raise ContractError(
            f"{KEY_FORMAT_VERSION}: not an integer (got {raw!r}): re-export the model"
        ) from None


def _parse_json(raw: str, key: str) -> dict[str, Any]:
    if len(raw) > budgets.MAX_METADATA_CHARS:
        raise ContractError(f"{key}: {len(raw):,} characters of JSON (at most "
                            f"{budgets.MAX_METADATA_CHARS:,}): re-export the model")
    if _nesting(raw) > budgets.MAX_JSON_DEPTH:
        raise ContractError(f"{key}: JSON nested deeper than {budgets.MAX_JSON_DEPTH} levels: "
                            "re-export the model")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ContractError(f"{key}: malformed JSON ({exc.msg}): re-export the model") from None
    if not isinstance(data, dict):
        raise ContractError(f"{key}: expected a JSON object: re-export the model")
    return data


def _nesting(raw: str) -> int:
    """The deepest bracket nesting of a JSON text, counted before parsing: json recurses once
    per level, so a hostile depth would end in RecursionError."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", raw)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > budgets.MAX_JSON_DEPTH:
            break
    return deepest


_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKETS = re.compile(r"[\[\]{}]")
