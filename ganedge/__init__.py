"""ganedge: fast, torch-free sampling of GAN generators exported to ONNX.

Example:
    >>> import ganedge
    >>> gen = ganedge.load("model.onnx")      # doctest: +SKIP
    >>> gen.sample(64, seed=0).shape           # doctest: +SKIP
    (64, 32, 32, 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganedge.contract import FORMAT_VERSION, ModelContract
from ganedge.errors import GanEdgeError

if TYPE_CHECKING:
    from ganedge.runtime.model import GeneratorModel, load

__version__ = "0.1.0"

__all__ = ["FORMAT_VERSION", "GanEdgeError", "GeneratorModel", "ModelContract", "load",
           "__version__"]


def __getattr__(name: str) -> Any:
    # the runtime (numpy, onnxruntime) loads on first use, so `ganedge --help` and commands that
    # never sample do not pay for it
    if name in ("GeneratorModel", "load"):
        from ganedge.runtime import model as runtime

        return getattr(runtime, name)
    raise AttributeError(f"module 'ganedge' has no attribute {name!r}")
