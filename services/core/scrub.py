"""Personal data out of free text: Swedish personal identity numbers and phone numbers.

Incident titles, change titles and freeze reasons are free text that people type or
copy from alerts, and now and then a caller's personnummer or phone number slips in.
`scrub` replaces them before anything is stored:

- personnummer and samordningsnummer (day + 60): YYMMDD-NNNN, YYMMDD+NNNN (over 100),
  YYMMDDNNNN, YYYYMMDD-NNNN and YYYYMMDDNNNN, only with a valid month, day and Luhn
  check digit, so ticket numbers and other ten-digit figures are left alone;
- Swedish phone numbers: 0 or +46 / 0046 (an optional "(0)" after it), then the
  7-9 digits of the national number, in groups of at least two digits separated
  by single spaces or hyphens (070-123 45 67, +46 70 123 45 67, 08-123 456 78).

Left alone, because they are not preceded or followed the way a number standing on
its own is: dates and times (2022-05-04, 08:15, 2022-05-04T08:15:00+02:00), ids
(SD-2022-004714, INC0012345), IP addresses and version numbers (dots), numbers
inside words or longer digit runs. A twelve-digit compact timestamp whose digits
happen to pass the Luhn check (one in ten) cannot be told from a personnummer and
is scrubbed.

The replacements are never longer than what they replace, so a text that was
within its field's length limit stays within it (events are validated again by
the worker and by a rebuild), and a scrubbed text scrubs to itself.
"""

from __future__ import annotations

import re

PERSONNUMMER = "[personnr]"  # 10 characters: the shortest personnummer has 10
PHONE = "[telnr]"  # 7 characters: the shortest phone number has 8

# A number stands on its own: not glued to a word, a digit, or a dotted/slashed
# figure (version, IP, path), nor to the digits of a time (08:15), and not
# followed by one. A replacement's brackets count as the digits they replaced, so
# what was glued to a number stays glued and scrubbing a scrubbed text changes nothing.
_BEFORE = r"(?<![\w.+/\]-])(?<![\d\]]:)"
_AFTER = r"(?!\w|\[|[-+./:][\d\[])"

_PNR = re.compile(
    _BEFORE + r"(?P<century>\d{2})?(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})"
    r"(?P<sep>[-+]?)(?P<serial>\d{3})(?P<check>\d)" + _AFTER
)
_PHONE = re.compile(
    _BEFORE + r"(?P<prefix>(?:\+|00)46[ -]?(?:\(0\)[ -]?)?|0)"
    r"(?P<number>[1-9](?:[ -]?\d){6,8})" + _AFTER
)
# Shapes that phone numbers are not written in: a personnummer's (whose check
# digit failed) and a date's (04-05-2022, maybe followed by a time or a figure).
_NOT_A_PHONE = re.compile(r"\d{6}[-+]\d{4}|\d{8}[-+]\d{4}|\d{2}([-/.])\d{2}\1\d{4}")

_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29: leap years have one


def scrub(text: str) -> str:
    """`text` with personal identity numbers and phone numbers replaced."""
    if not any(c.isdigit() for c in text):
        return text  # most titles: no digit, nothing to do
    text = _PNR.sub(_personnummer, text)
    return _PHONE.sub(_phone, text)


# One switch per process (OPSTRACK_SCRUB_PERSONAL_DATA, set by the API and the worker
# at start): a pydantic validator has no settings of its own to ask, and every
# place that parses events (ingest, webhooks, worker, rebuild) must agree.
_enabled = True


def set_enabled(on: bool) -> None:
    global _enabled
    _enabled = on


def scrub_if_enabled(text: str) -> str:
    """`scrub(text)`, unless the process turned scrubbing off (the contracts' validator)."""
    return scrub(text) if _enabled else text


def luhn_valid(digits: str) -> bool:
    """The Luhn check (mod 10) over a string of digits, the last one being the check digit."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _personnummer(m: re.Match[str]) -> str:
    century, mm, dd = m["century"], int(m["mm"]), int(m["dd"])
    if century is not None and century not in ("18", "19", "20"):
        return m[0]
    if century is not None and m["sep"] == "+":
        return m[0]  # "+" marks the age in the ten-digit form only
    day = dd - 60 if dd > 60 else dd  # a samordningsnummer's day is the birth day + 60
    if not (1 <= mm <= 12 and 1 <= day <= _DAYS[mm - 1]):
        return m[0]
    if not luhn_valid(m["yy"] + m["mm"] + m["dd"] + m["serial"] + m["check"]):
        return m[0]
    return PERSONNUMMER


def _phone(m: re.Match[str]) -> str:
    if _NOT_A_PHONE.match(m[0]):
        return m[0]
    groups = re.split(r"[ -]", m["number"])
    if m["prefix"] == "0":
        groups[0] = "0" + groups[0]  # the trunk 0 belongs to the area code
    # Phone numbers are written in groups of two or more digits; after +46 the
    # area code may be one digit (+46 8 …). Single digits apart are something else.
    if any(len(g) < 2 for g in groups[1:]) or (m["prefix"] == "0" and len(groups[0]) < 2):
        return m[0]
    return PHONE
