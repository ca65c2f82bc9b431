"""The browser sampler: a static site that runs a ganedge model on onnxruntime-web.

Example:
    >>> from ganedge.web import build_site
    >>> build_site(None, "site")                 # doctest: +SKIP
    SiteReport(...)
"""

from ganedge.web.site import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
