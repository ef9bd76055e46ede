"""Lazy package exports (PEP 562).

The gateway's config loader imports the configuration models of cameras and sensors; with
lazy exports that does not drag in OpenCV, NumPy, a TFLite runtime, pyserial or pymodbus, so
a gateway (or a tool) that only needs the configuration stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
