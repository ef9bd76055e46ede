"""Base class of every configuration model: strict (unknown keys rejected) and immutable."""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A configuration section. Unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
