"""Model runtimes of the gateway: the one place that loads and runs on-device models.

Every model (vehicle detector, plate localizer, plate recognizer, and new ones such as a plate
detector) is loaded with :func:`load_model` and run through the returned
:class:`TfliteModel`, so health reports one runtime name and users get one install hint. Its
configuration section derives from :class:`TfliteModelConfig` (threads, delegate) or
:class:`BundledModelConfig` (plus ``model_path`` for a model shipped in ``models/``).

The configuration classes import without numpy; the runtime names are loaded on first use
(the config package must stay importable without the ``vision`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.inference.config import BundledModelConfig, TfliteModelConfig

if TYPE_CHECKING:
    from gateway.inference.tflite import (
        INSTALL_HINT,
        RuntimeMissingError,
        TfliteModel,
        dequantize,
        find_runtime,
        load_model,
        quantize,
    )

_RUNTIME_NAMES = ("INSTALL_HINT", "RuntimeMissingError", "TfliteModel", "dequantize", "find_runtime",
                  "load_model", "quantize")


def __getattr__(name: str) -> Any:  # lazy: the runtime half needs numpy
    if name in _RUNTIME_NAMES:
        from gateway.inference import tflite

        return getattr(tflite, name)
    raise AttributeError(name)


__all__ = [
    "INSTALL_HINT",
    "BundledModelConfig",
    "RuntimeMissingError",
    "TfliteModel",
    "TfliteModelConfig",
    "dequantize",
    "find_runtime",
    "load_model",
    "quantize",
]
