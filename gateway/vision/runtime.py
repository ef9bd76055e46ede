"""Load a TFLite interpreter from whichever runtime is installed.

``ai-edge-litert`` (the successor of tflite-runtime) is preferred; ``tflite-runtime`` works
too (it needs numpy<2). XNNPACK is applied by default by both for float ops.
"""

from __future__ import annotations

import importlib
from typing import Any

_RUNTIMES = (
    ("ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "tflite-runtime"),
)


class RuntimeMissing(ImportError):
    """No TFLite runtime is importable."""


def find_runtime(prefer: str | None = None) -> tuple[Any, str]:
    """Return ``(interpreter_module, runtime_name)``; ``prefer`` picks one by package name."""
    order = sorted(_RUNTIMES, key=lambda r: r[1] != prefer) if prefer else list(_RUNTIMES)
    errors = []
    for module_name, package in order:
        try:
            return importlib.import_module(module_name), package
        except ImportError as exc:  # tflite-runtime under numpy 2 also fails here
            errors.append(f"{package}: {exc}")
    raise RuntimeMissing(
        "no TFLite runtime: pip install 'edgepost[vision]' (ai-edge-litert) or tflite-runtime "
        "with numpy<2 (" + "; ".join(errors) + ")"
    )


def make_interpreter(
    model_path: str, *, num_threads: int = 1, use_xnnpack: bool = True, prefer: str | None = None
) -> tuple[Any, str]:
    """Create and allocate an interpreter; return it with the runtime's package name."""
    module, name = find_runtime(prefer)
    kwargs: dict[str, Any] = {"model_path": model_path, "num_threads": num_threads}
    if not use_xnnpack:
        # Without the default delegates the reference kernels run (debugging / comparison).
        resolver = getattr(module, "OpResolverType", None)
        if resolver is not None:
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = module.Interpreter(**kwargs)
    interpreter.allocate_tensors()
    return interpreter, name
