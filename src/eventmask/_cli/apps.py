"""Loading the user's router from ``module:attribute`` (the APP argument)."""

from __future__ import annotations

import importlib
import os
import sys

from .._routing.router import Router

__all__ = ["load_router"]


def load_router(spec: str) -> Router:
    """Import ``module:attribute`` and return the Router it names.

    The attribute may be a dotted path, or a callable that returns a Router.

    >>> load_router("nowhere")
    Traceback (most recent call last):
    ...
    ValueError: APP must be 'module:router', not 'nowhere'
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"APP must be 'module:router', not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    router = module
    for part in attribute.split("."):
        router = getattr(router, part)
    if callable(router) and not isinstance(router, Router):
        router = router()
    if not isinstance(router, Router):
        raise TypeError(f"{spec} is a {type(router).__name__}, not an eventmask Router")
    return router
