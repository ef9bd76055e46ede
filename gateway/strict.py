"""The one base class of every configuration model: strict (unknown keys rejected) and frozen.

Why a module of its own, outside ``gateway.config``: the camera, vision, plate, sensor and asset
packages define their own config sections, and ``gateway.config`` imports them to build the
root; a base class inside ``gateway.config`` would make them import that package back (a
cycle). The HIL rig description (``hil_tests/rig/model.py``) uses the same base.

Contract: a validated configuration never changes. Assigning a field raises, collections are
tuples and read-only mappings (:data:`ReadOnlyDict`), so a component holding a config can't see
it change under its feet. A live change (an alert level, a zone edited on the gateway page)
builds a *new* object with :func:`revalidated`, which runs every validator again, and swaps it
in as a whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, WrapSerializer

K = TypeVar("K")
V = TypeVar("V")
M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """A configuration section. Unknown keys are errors, so typos never pass silently; fields
    can't be assigned after validation (``frozen``) and defaults are validated like input."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _read_only(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(dict(value))


def _as_dict(value: Mapping[Any, Any], handler: Any) -> Any:
    # a mappingproxy dumps like the dict it wraps (nested models serialised by the handler)
    return handler(dict(value))


#: A ``dict`` field that is read-only after validation (a ``types.MappingProxyType``); it dumps
#: to a plain dict (TOML, JSON, the config hash). Use as ``ReadOnlyDict[str, float]``.
ReadOnlyDict = Annotated[Mapping[K, V], AfterValidator(_read_only), WrapSerializer(_as_dict)]


def revalidated(model: M, **changes: Any) -> M:
    """A new, fully validated copy of ``model`` with top-level ``changes`` applied.

    Unlike ``model_copy(update=...)``, every field and cross-field validator runs again, so a
    live change is either a valid configuration or a ``pydantic.ValidationError``; ``model``
    itself is left untouched. Nested sections take a dict or a model (e.g. one made with
    ``revalidated`` itself).
    """
    data = model.model_dump()
    data.update(changes)
    return type(model).model_validate(data)
