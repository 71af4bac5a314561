"""Which strings may enter opstrack: the one rule for every id, label, text and query value.

PostgreSQL text cannot hold U+0000, UTF-8 (the store's, Kafka's and JSON's encoding)
cannot hold a lone surrogate, and a control character in an id or label is an
export or encoding error that would reach logs, metric labels and file names. A
string with one is refused at the door, naming the field, so it never becomes an
event the worker cannot store (one such event used to stall a topic for good).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from services.core.scrub import scrub_if_enabled

# Ids and labels: no control character at all (C0, DEL, C1), no lone surrogate.
_NAME_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rule for ids and labels as a JSON Schema pattern, for documents (OpenAPI)
# that let clients and schemathesis write acceptable values; surrogates cannot be
# written in JSON text at all.
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
# Free text (titles, reasons) may hold tabs and line breaks, nothing else of the kind.
_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _describe(found: re.Match[str]) -> str:
    code = ord(found.group())
    what = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    nul = " (NUL)" if code == 0 else ""
    return f"{what} U+{code:04X}{nul} at position {found.start()}"


def unstorable(text: str, *, free_text: bool = False) -> str | None:
    """Why `text` cannot be stored or queried (its first refused character), or None."""
    found = (_TEXT_REFUSED if free_text else _NAME_REFUSED).search(text)
    return None if found is None else _describe(found)


# Validation context under which the rule is not applied: events read back from the
# store were accepted under the rule of their day, and refusing one there would
# stop its entity (and the SLA clock) for good instead of keeping bad input out.
STORED = "stored"


def _checked(free_text: bool) -> AfterValidator:
    refused = _TEXT_REFUSED if free_text else _NAME_REFUSED

    def check(text: str, info: ValidationInfo) -> str:
        # Runs for every string of every event: the usual, clean case costs one search.
        found = refused.search(text)
        if found is None or (isinstance(info.context, dict) and info.context.get(STORED)):
            return text
        raise PydanticCustomError(
            "string_unstorable", "must not hold {problem}", {"problem": _describe(found)}
        )

    return AfterValidator(check)


# Every string field of every event is one of these; nothing else may hold a str.
# Free text (titles, reasons, public notices) also has Swedish personal identity and
# phone numbers replaced as it is validated, so ingest, webhooks and the worker all
# store the scrubbed text (services/core/scrub.py; the length is checked first and a
# replacement is never longer than what it replaces).
_SCRUBBED = AfterValidator(scrub_if_enabled)
Name = Annotated[str, Field(min_length=1, max_length=200), _checked(free_text=False)]
Text = Annotated[str, Field(max_length=300), _checked(free_text=True), _SCRUBBED]
# A public notice's passages (contracts/notice.py): free text, longer.
LongText = Annotated[str, Field(min_length=1, max_length=1000), _checked(free_text=True), _SCRUBBED]
