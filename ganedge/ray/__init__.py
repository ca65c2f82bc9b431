"""ganedge past one machine, on Ray (the ``ray`` extra: ``pip install 'ganedge[ray]'``).

- :func:`generate`: bulk generation on Ray Data — seeds to PNG files (the bytes ``ganedge sample
  --outdir`` writes), Parquet or WebDataset shards, on any number of workers, resumable.
- :func:`build_app`: an HTTP service on Ray Serve with dynamic batching (``ganedge serve``).

Importing this package does not import Ray; a call that needs Ray raises MissingExtraError with
the install line when it is missing. docs/scaling-out.md says which engine to use when.

Example:
    >>> import ganedge.ray
    >>> report = ganedge.ray.generate("model.onnx", range(20_000), "out/",  # doctest: +SKIP
    ...                               workers=2)
    >>> report.images_per_s                                                 # doctest: +SKIP
"""

from __future__ import annotations

from ganedge.ray.bulk import FORMATS, BulkReport, generate
from ganedge.ray.cluster import RAY_EXTRA_HINT
from ganedge.ray.http import Limits
from ganedge.ray.service import ServeConfig, build_app

__all__ = ["FORMATS", "RAY_EXTRA_HINT", "BulkReport", "Limits", "ServeConfig", "build_app",
           "generate"]
