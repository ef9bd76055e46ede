"""Files the package ships (models, asset manifest), found with importlib.resources.

Why: an installed wheel has no source tree around it, so every run-time file is package data
and is looked up through the package, never as a path relative to the repository. In a
checkout, ``gateway/assets/_models`` is a symlink to ``models/`` (the layout the design card
fixes); a wheel holds copies of those files at the same place.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_file(package: str, *parts: str) -> Path:
    """Path of a file shipped in ``package`` (wheels install unzipped, so this is a real file)."""
    return Path(str(files(package).joinpath(*parts)))


def models_dir() -> Path:
    """The shipped ``models/`` folder: ``assets.toml`` and ``plates/*.tflite``."""
    return package_file("gateway.assets", "_models")
