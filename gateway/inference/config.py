"""Configuration shared by every TFLite-backed model (no numpy or runtime import here)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from gateway.strict import StrictModel


class TfliteModelConfig(StrictModel):
    """Interpreter settings every TFLite-backed model shares."""

    num_threads: int = Field(default=1, ge=1, le=16, description="Interpreter CPU threads.")


class BundledModelConfig(TfliteModelConfig):
    """A model the project ships in ``models/``; ``model_path`` swaps in another file."""

    model_path: Path | None = Field(
        default=None, description="Model .tflite; None uses the one committed in models/."
    )
