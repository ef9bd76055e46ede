"""The asset manifest (``models/assets.toml``): typed, strict, loaded once."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gateway.strict import StrictModel


class InputSpec(StrictModel):
    """What a model expects as input (from its card)."""

    width: int = Field(gt=0, description="Input width in pixels.")
    height: int = Field(gt=0, description="Input height in pixels.")
    channels: int = Field(default=3, description="Colour channels.")
    dtype: Literal["uint8", "int8", "float32"] = Field(description="Input tensor type.")
    color: Literal["RGB", "BGR"] = Field(default="RGB", description="Channel order.")
    layout: Literal["NHWC", "NCHW"] = Field(default="NHWC", description="Tensor layout.")
    resize: Literal["stretch", "letterbox"] = Field(description="How frames are fitted.")
    scale: float | None = Field(default=None, description="Input quantisation scale.")
    zero_point: int | None = Field(default=None, description="Input quantisation zero point.")
    mean: float | None = Field(default=None, description="Float models: pixel mean.")
    std: float | None = Field(default=None, description="Float models: pixel std.")


class OutputSpec(StrictModel):
    """How to decode a model's outputs."""

    decoder: Literal["ssd", "yolo"] = Field(description="Output decoder to use.")
    max_detections: int | None = Field(default=None, description="Most objects per frame.")
    box_format: str | None = Field(default=None, description="Box layout, for people.")


class Asset(StrictModel):
    """One downloadable file."""

    name: str = Field(description="Unique name used on the command line and in configs.")
    kind: Literal["model", "labels", "sample", "source"] = Field(
        description="What the file is. 'source': a third-party file a tool in tools/ converts into a"
        " committed model; fetched by that tool from its package registry, never pulled or mirrored."
    )
    path: str = Field(description="Relative path in the cache and in a mirror.")
    url: str | None = Field(default=None, description="Download URL (None: mirror only).")
    archive_member: str | None = Field(
        default=None, description="File to extract when the URL is a zip archive."
    )
    sha256: str = Field(description="SHA-256 of the file itself (hex).")
    size: int | None = Field(default=None, ge=0, description="Size in bytes, for progress.")
    license: str = Field(description="SPDX-style license of the file.")
    source: str = Field(description="Who made it and where it comes from.")
    attribution: str | None = Field(default=None, description="Required attribution text.")
    description: str | None = Field(default=None, description="What it is.")
    labels: str | None = Field(default=None, description="Name of the label-map asset.")
    card: str | None = Field(default=None, description="Model card path in the repository.")
    input: InputSpec | None = Field(default=None, description="Model input spec.")
    output: OutputSpec | None = Field(default=None, description="Model output spec.")

    @field_validator("sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise ValueError("sha256 must be 64 hex digits")
        return v

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        p = PurePosixPath(v)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"asset path must be relative without '..': {v!r}")
        return v

    @model_validator(mode="after")
    def _model_fields(self) -> Asset:
        if self.kind == "model" and (self.input is None or self.output is None):
            raise ValueError(f"model asset {self.name!r} needs [asset.input] and [asset.output]")
        if self.kind == "source" and not self.url:
            raise ValueError(f"source asset {self.name!r} needs a url: no mirror holds it")
        return self


class Manifest(StrictModel):
    """All assets."""

    schema_: int = Field(alias="schema", description="Manifest format version (1).")
    asset: tuple[Asset, ...] = Field(description="The assets.")

    @model_validator(mode="after")
    def _unique(self) -> Manifest:
        names = [a.name for a in self.asset]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate asset names: {sorted(dupes)}")
        for a in self.asset:
            if a.labels and a.labels not in names:
                raise ValueError(f"asset {a.name!r} names unknown labels asset {a.labels!r}")
        return self

    def get(self, name: str) -> Asset:
        """Asset by name; KeyError lists the known names."""
        for a in self.asset:
            if a.name == name:
                return a
        raise KeyError(f"unknown asset {name!r}; known: {', '.join(a.name for a in self.asset)}")

    def select(self, kinds: set[str]) -> list[Asset]:
        """Assets of the given kinds, in manifest order."""
        return [a for a in self.asset if a.kind in kinds]


def default_manifest_path() -> Path:
    """The asset manifest shipped with the package (``models/assets.toml`` in a checkout)."""
    from gateway.resources import models_dir

    return models_dir() / "assets.toml"


def load_manifest(path: str | Path | None = None) -> Manifest:
    """Read and validate the manifest (default: :func:`default_manifest_path`)."""
    p = Path(path) if path else default_manifest_path()
    with p.open("rb") as fh:
        return Manifest.model_validate(tomllib.load(fh))
