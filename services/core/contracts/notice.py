"""The public notice of an incident or planned change: what residents are told.

Kept apart from every internal field (title, ticket text, people): the public status
page shows what is written here and nothing else about the incident. Region Uppsala's
checklist for a notice is its shape: what does not work, who is affected, what is
being done, and when it is expected to work again.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.core.contracts.envelope import Instant
from services.core.contracts.text import LongText

# Beyond what no event may hold (contracts/text.py): the two noncharacters XML 1.0
# cannot carry, so that every notice can be written into the Atom feed.
_NOT_XML = re.compile("[\ufffe\uffff]")


def _writable(value: str) -> str:
    bad = _NOT_XML.search(value)
    if bad:
        raise ValueError(f"must not hold U+{ord(bad.group()):04X} at position {bad.start()}")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[LongText, AfterValidator(_writable)]


class NoticeText(BaseModel):
    """The notice in one language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    what: Text = Field(description="what does not work, in plain words")
    affected: Text | None = Field(None, description="who is affected")
    action: Text | None = Field(None, description="what is being done about it")


class Notice(BaseModel):
    """Swedish always (the page's default language), English if given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sv: NoticeText
    en: NoticeText | None = None
    expected_end: Instant | None = Field(None, description="when it is expected to work again")
