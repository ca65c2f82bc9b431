"""ganedge: fast, torch-free sampling of GAN generators exported to ONNX.

Example:
    >>> import ganedge
    >>> gen = ganedge.load("model.onnx")      # doctest: +SKIP
    >>> gen.sample(64, seed=0).shape           # doctest: +SKIP
    (64, 32, 32, 1)
"""

from ganedge.contract import FORMAT_VERSION, ModelContract
from ganedge.errors import GanEdgeError
from ganedge.runtime import GeneratorModel, load

__version__ = "0.1.0"

__all__ = ["FORMAT_VERSION", "GanEdgeError", "GeneratorModel", "ModelContract", "load", "__version__"]
