"""Model runtimes of the gateway: the one place that loads and runs on-device models.

Every model (vehicle detector, plate localizer, plate recognizer, and new ones such as a plate
detector) is loaded with :func:`load_model` and run through the returned
:class:`TfliteModel`, so health reports one runtime name and users get one install hint.
"""

from gateway.inference.tflite import (
    INSTALL_HINT,
    RuntimeMissingError,
    TfliteModel,
    dequantize,
    find_runtime,
    load_model,
    quantize,
)

__all__ = [
    "INSTALL_HINT",
    "RuntimeMissingError",
    "TfliteModel",
    "dequantize",
    "find_runtime",
    "load_model",
    "quantize",
]
