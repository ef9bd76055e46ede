"""The TFLite seam: find a runtime, load a model, run it, (de)quantize its tensors.

Why one module: the detector, the plate localizer and the plate recognizer used to load
TFLite each their own way (different fallbacks, exception names and install hints). Here
``ai-edge-litert`` (the maintained successor) is preferred, ``tflite-runtime`` 2.14 (needs
numpy<2) is the fallback, and full TensorFlow's ``tf.lite`` is the last resort so training
environments work too. XNNPACK is applied by default by both runtimes for float ops.

Contract: :func:`load_model` returns an allocated :class:`TfliteModel` or raises
:class:`RuntimeMissingError` (no runtime importable; the message says what to install) or
:class:`FileNotFoundError` (no model file). A model holds one interpreter and is not
thread-safe: one model object per thread.

A new model plugs in like this::

    model = load_model(path, threads=2)
    x = quantize(image_float[None], model.input)
    (raw,) = model.invoke(x)
    scores = dequantize(raw, model.outputs[0])
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

#: (importable module holding ``Interpreter``, package name users install), in order of preference
RUNTIMES: tuple[tuple[str, str], ...] = (
    ("ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow.lite", "tensorflow"),  # a training environment carries the interpreter too
)

INSTALL_HINT = (
    "install a TFLite runtime: pip install 'edgepost[vision]' (ai-edge-litert), "
    "or tflite-runtime==2.14 with numpy<2"
)

#: A tensor's description as the interpreter gives it (name, index, shape, dtype, quantization...).
TensorDetail = Mapping[str, Any]


class RuntimeMissingError(ImportError):
    """No TFLite runtime is importable; the message says what to install."""


def find_runtime(prefer: str | None = None) -> tuple[Any, str]:
    """Return ``(interpreter_module, package_name)``; ``prefer`` moves one package name first."""
    order = sorted(RUNTIMES, key=lambda r: r[1] != prefer) if prefer else list(RUNTIMES)
    errors = []
    for module_name, package in order:
        try:
            return importlib.import_module(module_name), package
        except ImportError as exc:  # tflite-runtime under numpy 2 also fails here
            errors.append(f"{package}: {exc}")
    raise RuntimeMissingError(f"no TFLite runtime: {INSTALL_HINT} ({'; '.join(errors)})")


class TfliteModel:
    """One allocated TFLite interpreter with its tensor details (not thread-safe).

    ``inputs`` / ``outputs`` are the interpreter's tensor details in the model's order;
    ``input`` is the first (most models have one). ``runtime`` is the package that runs it.
    """

    def __init__(self, interpreter: Any, runtime: str, path: Path) -> None:
        self.interpreter = interpreter
        self.runtime = runtime
        self.path = path
        self.inputs: list[dict[str, Any]] = list(interpreter.get_input_details())
        self.outputs: list[dict[str, Any]] = list(interpreter.get_output_details())

    @property
    def input(self) -> dict[str, Any]:
        """The first input's details."""
        return self.inputs[0]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The first input's shape, e.g. ``(1, height, width, 3)`` for an NHWC image model."""
        return tuple(int(v) for v in self.input["shape"])

    def resize_input(self, shape: tuple[int, ...], index: int = 0) -> None:
        """Give a dynamic input a new shape and re-allocate (fully convolutional models)."""
        if tuple(int(v) for v in self.inputs[index]["shape"]) == tuple(shape):
            return
        self.interpreter.resize_tensor_input(self.inputs[index]["index"], list(shape))
        self.interpreter.allocate_tensors()
        self.inputs = list(self.interpreter.get_input_details())
        self.outputs = list(self.interpreter.get_output_details())

    def invoke(self, *tensors: np.ndarray) -> list[np.ndarray]:
        """Set the inputs (already in their stored dtype), run once, return the raw outputs."""
        if len(tensors) != len(self.inputs):
            raise ValueError(f"{self.path.name}: {len(self.inputs)} input(s) expected, got {len(tensors)}")
        for detail, tensor in zip(self.inputs, tensors, strict=True):
            self.interpreter.set_tensor(detail["index"], tensor)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(d["index"]) for d in self.outputs]

    def run(self, *tensors: np.ndarray) -> list[np.ndarray]:
        """Float inputs in, float outputs out: :func:`quantize`, :meth:`invoke`, :func:`dequantize`."""
        if len(tensors) != len(self.inputs):
            raise ValueError(f"{self.path.name}: {len(self.inputs)} input(s) expected, got {len(tensors)}")
        stored = [quantize(t, d) for t, d in zip(tensors, self.inputs, strict=True)]
        return [dequantize(o, d) for o, d in zip(self.invoke(*stored), self.outputs, strict=True)]


def load_model(
    path: str | Path,
    threads: int = 1,
    *,
    use_xnnpack: bool = True,
    prefer: str | None = None,
) -> TfliteModel:
    """Load and allocate a ``.tflite`` model with the preferred installed runtime.

    ``threads`` is the interpreter's CPU thread count; ``use_xnnpack=False`` runs the reference
    kernels (debugging, comparison); ``prefer`` names a runtime package to try first.
    """
    model_path = Path(path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model not found: {model_path}")
    module, name = find_runtime(prefer)
    kwargs: dict[str, Any] = {"model_path": str(model_path), "num_threads": threads}
    if not use_xnnpack:
        # Without the default delegates the reference kernels run.
        resolver = getattr(module, "OpResolverType", None)
        if resolver is not None:
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = module.Interpreter(**kwargs)
    interpreter.allocate_tensors()
    return TfliteModel(interpreter, name, model_path)


def _scale_zero(detail: TensorDetail) -> tuple[float, int]:
    scale, zero = detail.get("quantization", (0.0, 0))
    return float(scale), int(zero)


def quantize(x: np.ndarray, detail: TensorDetail) -> np.ndarray:
    """Real values -> the tensor's stored dtype using its ``(scale, zero_point)``.

    Float tensors take the values as float32; integer tensors without quantization
    parameters take them rounded and clipped to the dtype's range.
    """
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return np.asarray(x, dtype=dtype)
    scale, zero = _scale_zero(detail)
    q = np.round(np.asarray(x, np.float32) / scale + zero) if scale else np.round(x)
    info = np.iinfo(dtype)
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(q: np.ndarray, detail: TensorDetail) -> np.ndarray:
    """A tensor's stored values -> float32 using its ``(scale, zero_point)``.

    Integer tensors without quantization parameters (e.g. a detection count) and float
    tensors are only converted to float32.
    """
    scale, zero = _scale_zero(detail)
    if q.dtype.kind in "iu" and scale:
        return (q.astype(np.float32) - zero) * scale
    return q.astype(np.float32, copy=False)

