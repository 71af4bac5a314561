"""Reading an indicator value as people type it: `7,29 %`, `-1 412`, `0.78`, `Ja`."""

from __future__ import annotations

import re

_YES = {"ja", "yes", "true", "sant"}
_NO = {"nej", "no", "false", "falskt"}
_SPACES = re.compile(r"[\s\u00a0\u202f]")


class ValueParseError(ValueError):
    pass


def parse_value(text: str) -> float | bool:
    """A number, a percentage (stored as a fraction: 7,29 % -> 0.0729) or yes/no.

    A decimal comma is read as a decimal point, and spaces between digit
    groups are ignored, so Swedish and English ways of writing both work.
    """
    t = _SPACES.sub("", text.strip().lower())
    if t in _YES:
        return True
    if t in _NO:
        return False
    percent = t.endswith("%")
    t = t.removesuffix("%").removesuffix("tkr").removesuffix("st")
    if t.count(",") == 1 and "." not in t:
        t = t.replace(",", ".")
    try:
        number = float(t)
    except ValueError:
        raise ValueParseError(
            f"cannot read {text!r} as a value: use a number (7.29 or 7,29), "
            "a percentage (7,29 %) or yes/no (ja/nej)"
        ) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueParseError(f"{text!r} is not a finite number")
    return number / 100 if percent else number
