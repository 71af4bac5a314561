"""The CloudEvents 1.0 envelope and the base of every event's data."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError

from services.core.contracts.text import STORED, Name, unstorable

__all__ = [
    "Data",
    "Envelope",
    "Instant",
    "Name",
    "Priority",
    "Severity",
    "dedup_key",
    "plausible",
]


# Far-off years are export or clock errors; the very first and last ones cannot even
# be converted to UTC. Refusing them keeps them out of every state.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def plausible(t: datetime) -> datetime:
    """t, or ValueError if its year is outside FIRST_YEAR..LAST_YEAR."""
    if not FIRST_YEAR <= t.year <= LAST_YEAR:
        raise ValueError(f"year {t.year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return t


# An aware instant in a plausible range; every time in every event is one.
Instant = Annotated[AwareDatetime, AfterValidator(plausible)]
Priority = Annotated[int, Field(ge=1, le=4, description="1 is the most urgent")]
Severity = Annotated[int, Field(ge=1, le=4, description="1 is the most severe")]


def dedup_key(source: str, event_id: str) -> str:
    """The store's key of the event `event_id` of `source` (see Envelope.dedup_key)."""
    pair = f"{len(source)}:{source}{event_id}"  # the length first: no two pairs give one text
    return hashlib.sha256(pair.encode("utf-8", "surrogatepass")).hexdigest()


class Data(BaseModel):
    """An event's data; `entity` names the field that holds the entity id (the subject)."""

    # Unknown data fields are refused, so personal data (caller numbers, names)
    # cannot slip into the store by way of an extra field.
    model_config = ConfigDict(extra="forbid", frozen=True)
    entity: ClassVar[str]

    @property
    def entity_id(self) -> str:
        value: str = getattr(self, self.entity)
        return value


class Envelope(BaseModel):
    """CloudEvents 1.0, structured JSON mode."""

    # Extension attributes are allowed by the spec; they are dropped, not stored.
    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"]
    id: Name
    source: Name
    time: Instant
    subject: Name | None = None
    datacontenttype: Literal["application/json"] = "application/json"

    @model_validator(mode="before")
    @classmethod
    def _extensions_storable(cls, raw: Any, info: ValidationInfo) -> Any:
        # Extension attributes are dropped, but one holding a NUL is as wrong as a
        # field holding one, and refusing it keeps the rule "no such string gets in".
        if not isinstance(raw, dict):
            return raw
        fields = _field_names(cls)
        if raw.keys() <= fields or (isinstance(info.context, dict) and info.context.get(STORED)):
            return raw  # no extension attribute: the usual case (this runs for every event)
        for name, value in raw.items():
            if name in fields or not isinstance(name, str):
                continue
            problem = unstorable(name) or (unstorable(value) if isinstance(value, str) else None)
            if problem is not None:
                raise PydanticCustomError(
                    "extension_unstorable",
                    "an extension attribute (name or value) must not hold {problem}",
                    {"attribute": name, "problem": problem},
                )
        return raw

    @property
    def dedup_key(self) -> str:
        """What makes the event unique: its id within its source (CloudEvents 1.0,
        "source + id MUST be unique"), as one fixed-size value the store can index.

        A hash, not the two joined: any separator could occur in an id or a source,
        and a joined pair could outgrow the id columns.
        """
        return dedup_key(self.source, self.id)

    @model_validator(mode="after")
    def _subject_is_entity(self) -> Any:
        data = getattr(self, "data", None)
        if not isinstance(data, Data):
            return self
        if self.subject is None:
            object.__setattr__(self, "subject", data.entity_id)
        elif self.subject != data.entity_id:
            raise PydanticCustomError(
                "subject_mismatch",
                "subject '{subject}' must equal the entity id '{entity}'",
                {"subject": self.subject, "entity": data.entity_id},
            )
        return self


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(model.model_fields)
