"""Loading a TFLite model with whichever runtime is installed, plus int8 (de)quantization."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class RuntimeMissingError(ImportError):
    """Neither ``ai-edge-litert`` nor ``tflite-runtime`` is installed."""


def make_interpreter(model_path: str | Path, num_threads: int = 1) -> Any:
    """An allocated interpreter from ``ai_edge_litert`` (preferred), ``tflite_runtime`` or TensorFlow."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            try:  # a training environment: full TensorFlow carries the interpreter too
                from tensorflow.lite import Interpreter  # type: ignore[no-redef]
            except ImportError as exc:  # pragma: no cover - depends on the installed extras
                raise RuntimeMissingError(
                    "no TFLite runtime: install the 'vision' extra (pip install 'edgepost[vision]')"
                ) from exc
    path = Path(model_path)
    if not path.is_file():
        raise FileNotFoundError(f"model not found: {path}")
    interp = Interpreter(model_path=str(path), num_threads=num_threads)
    interp.allocate_tensors()
    return interp


def quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float array -> the input tensor's dtype using its (scale, zero_point)."""
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zp = detail["quantization"]
    info = np.iinfo(dtype)
    q = np.round(x / scale + zp)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, detail: dict) -> np.ndarray:
    """Output tensor -> float32 using its (scale, zero_point)."""
    if q.dtype == np.float32:
        return q
    scale, zp = detail["quantization"]
    return (q.astype(np.float32) - zp) * scale
