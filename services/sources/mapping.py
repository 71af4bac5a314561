"""What every source's mapping shares: the spec error, a mapped value, stable event ids."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

Scalar = str | int | float


class MappingError(ValueError):
    """The spec is not usable; the one-line message names the field at fault."""


Spec = TypeVar("Spec", bound=BaseModel)


def load_spec(model: type[Spec], data: Mapping[str, Any], whole: str = "(spec)") -> Spec:
    """The spec from parsed YAML, or MappingError naming the first problem's field
    (`whole` when the problem is the spec as a whole)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or whole
        raise MappingError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


class ValueMap(BaseModel):
    """A raw value (cell or payload value) → an event field value, through an optional map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    map: dict[str, Scalar] | None = None
    default: Scalar | None = None  # when the value is empty, or not in the map

    @field_validator("map", mode="before")
    @classmethod
    def _string_keys(cls, v: Any) -> Any:
        # YAML reads `1:` or `5:` as numbers; raw values are compared as text.
        return {str(k): val for k, val in v.items()} if isinstance(v, dict) else v

    def resolve(self, raw: object) -> object | None:
        """The field value, None when empty and there is no default; ValueError if unmapped."""
        text = "" if raw is None else str(raw).strip()
        if self.map is None and text:
            return text if isinstance(raw, str) else raw
        if self.map is not None and text:
            folded = {k.casefold(): v for k, v in self.map.items()}
            if text.casefold() in folded:
                return folded[text.casefold()]
            if self.default is None:
                known = ", ".join(repr(k) for k in self.map)
                raise ValueError(f"{text!r} is not in the map (known: {known})")
        return self.default


def event_id(*parts: str) -> str:
    """Parts joined by '-'; ids are at most 200 characters, so a longer one keeps its
    first part readable and replaces the rest by a digest of the whole."""
    eid = "-".join(parts)
    if len(eid) <= 200:
        return eid
    return f"{parts[0][:100]}-{hashlib.sha256(eid.encode()).hexdigest()}"
