"""Numbers, targets, statuses and sentences of the report, in Swedish or English.

Numbers go through Babel with the language's locale ("sv" -> sv_SE, "en" -> en_GB),
so Swedish output keeps Babel's no-break spaces: `7,29 %`, `-1 412 tkr` with
U+00A0 as the digit-group separator and before the unit. A unit is joined to
its number with a no-break space too, so a cell never wraps between them.

Decimals: the indicator's `decimals` if set, else as few as needed up to two
(0.78 -> `78 %`, 0.0729 -> `7,29 %`, 25.5 -> `25,5 h`). Rounding is half away
from zero, as people round by hand (Babel's default would be half to even).

Targets follow the seed's table: `högst 20 st` (at_most), `Öka från 70`
(increase_from), and just the value for at_least and equals (`70 %`, `9`,
`Ja`): the seed writes a target people should reach as the bare value.

Units: "st" (the seed's "stycken") is written `25 st` in Swedish and as the
bare number in English; "tkr" is `tkr` in Swedish and `kSEK` in English;
"hours" as people write them: `24,45 timmar` in Swedish, `24.45 h` in English.
A missing value is an en dash.

Statuses carry a mark that survives black-and-white printing next to the word
(never colour alone): ✔ achieved, ✘ not achieved, ◐ partially achieved.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Literal

from babel import Locale
from babel.dates import format_date, get_month_names
from babel.numbers import format_decimal, format_percent

from services.core.evaluation import Evaluation
from services.core.goals import Target
from services.core.periods import STOCKHOLM

Lang = Literal["sv", "en"]
Status = Literal["achieved", "not_achieved", "partially"]

LOCALES: dict[str, str] = {"sv": "sv_SE", "en": "en_GB"}
DASH = "\u2013"  # en dash
NBSP = "\u00a0"
MAX_DECIMALS = 2

# The numeric part of a CLDR pattern, e.g. "#,##0.###" in "#,##0.### ¤".
_NUMBER_PART = re.compile(r"[#0,.]+")

_SUFFIX: dict[str, dict[str, str]] = {
    "sv": {"hours": "timmar", "tkr": "tkr", "st": "st"},
    "en": {"hours": "h", "tkr": "kSEK", "st": ""},
}

_YES_NO = {"sv": ("Ja", "Nej"), "en": ("Yes", "No")}

STATUS_MARK: dict[str, str] = {"achieved": "✔", "not_achieved": "✘", "partially": "◐"}
_STATUS_WORD: dict[str, dict[str, str]] = {
    "sv": {"achieved": "Uppnått", "not_achieved": "Ej uppnått", "partially": "Delvis uppnått"},
    "en": {
        "achieved": "Achieved",
        "not_achieved": "Not achieved",
        "partially": "Partially achieved",
    },
}


def _locale(lang: str) -> str:
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"no such language {lang!r}: use one of {sorted(LOCALES)}") from None


def needed_decimals(x: float, decimals: int | None = None) -> int:
    """The fraction digits `x` is shown with: `decimals`, or as few as needed up to two."""
    if decimals is not None:
        return decimals
    rounded = decimal.Decimal(repr(float(x))).quantize(
        decimal.Decimal(1).scaleb(-MAX_DECIMALS), rounding=decimal.ROUND_HALF_UP
    )
    exponent = rounded.normalize().as_tuple().exponent
    return min(MAX_DECIMALS, max(0, -exponent)) if isinstance(exponent, int) else 0


def _base_pattern(loc: str, kind: Literal["decimal", "percent"]) -> str:
    locale = Locale.parse(loc)
    formats = locale.decimal_formats if kind == "decimal" else locale.percent_formats
    return str(formats[None].pattern)


def _pattern(base: str, decimals: int | None) -> str:
    """The locale's pattern with `decimals` fraction digits (None: up to two, as needed)."""
    positive = base.split(";")[0]
    frac = "#" * MAX_DECIMALS if decimals is None else "0" * decimals
    number = "#,##0" + (f".{frac}" if frac else "")
    return _NUMBER_PART.sub(number, positive, count=1)


def _no_negative_zero(x: float, decimals: int) -> float:
    return 0.0 if round(abs(x), decimals) == 0 else x


def number(x: float, lang: str, decimals: int | None = None) -> str:
    """`-1 412`, `25,5` (sv); `-1,412`, `25.5` (en)."""
    loc = _locale(lang)
    pattern = _pattern(_base_pattern(loc, "decimal"), decimals)
    x = _no_negative_zero(x, decimals if decimals is not None else MAX_DECIMALS)
    with decimal.localcontext(rounding=decimal.ROUND_HALF_UP):
        return format_decimal(x, format=pattern, locale=loc)


def percent(fraction: float, lang: str, decimals: int | None = None) -> str:
    """A fraction as a percentage: 0.0729 -> `7,29 %` (sv), `7.29%` (en)."""
    loc = _locale(lang)
    pattern = _pattern(_base_pattern(loc, "percent"), decimals)
    fraction = _no_negative_zero(fraction, (decimals if decimals is not None else 2) + 2)
    with decimal.localcontext(rounding=decimal.ROUND_HALF_UP):
        return format_percent(fraction, format=pattern, locale=loc)


def yes_no(v: bool, lang: str) -> str:
    yes, no = _YES_NO[lang]
    return yes if v else no


def value(v: float | bool | None, unit: str, lang: str, decimals: int | None = None) -> str:
    """An indicator value (nuvärde, prognos or target value) with its unit."""
    _locale(lang)
    if v is None:
        return DASH
    if isinstance(v, bool) or unit == "yesno":
        return yes_no(bool(v), lang)
    if unit == "percent":
        return percent(v, lang, decimals)
    text = number(v, lang, decimals)
    suffix = _SUFFIX[lang].get(unit, "")
    return f"{text}{NBSP}{suffix}" if suffix else text


def target(t: Target, unit: str, lang: str, decimals: int | None = None) -> str:
    """`högst 20 st`, `Öka från 70`, `70 %` (sv); `at most 20`, `Increase from 70`, `70%` (en)."""
    shown = value(t.value, unit, lang, decimals)
    if not t.show_rule:
        return shown
    if t.rule == "at_most":
        return f"högst {shown}" if lang == "sv" else f"at most {shown}"
    if t.rule == "increase_from":
        return f"Öka från {shown}" if lang == "sv" else f"Increase from {shown}"
    return shown  # at_least, equals: the value to reach, as the seed writes it


def target_prefix(rule: str, lang: str) -> str:
    """The words before a target's value (for a spreadsheet number format)."""
    if rule == "at_most":
        return "högst " if lang == "sv" else "at most "
    if rule == "increase_from":
        return "Öka från " if lang == "sv" else "Increase from "
    return ""


def unit_suffix(unit: str, lang: str) -> str:
    """The text after a number of that unit (not for percent and yes/no)."""
    return _SUFFIX[lang].get(unit, "")


def status_word(status: str | None, lang: str) -> str:
    """`Uppnått`, `Ej uppnått`, `Delvis uppnått` (sv); None (not assessed) is a dash."""
    _locale(lang)
    return DASH if status is None else _STATUS_WORD[lang][status]


_JUDGED_ON: dict[str, dict[str, str]] = {
    "sv": {"forecast": "prognos", "current": "nuvärde"},
    "en": {"forecast": "forecast", "current": "current"},
}


def judged_on(on: str, lang: str) -> str:
    """What a status was judged on, as the status shows it: `prognos`, `current`."""
    return _JUDGED_ON[lang][on]


def status_text(status: str | None, lang: str, on: str) -> str:
    """The word and what it was judged on: `Uppnått (prognos)`; a dash when not assessed."""
    if status is None:
        return DASH
    return f"{status_word(status, lang)} ({judged_on(on, lang)})"


def status_mark(status: str | None) -> str:
    return "" if status is None else STATUS_MARK[status]


def status_label(status: str | None, lang: str, on: str | None = None) -> str:
    """Mark and word: `✔ Uppnått`, with what it was judged on if given: `✔ Uppnått (prognos)`."""
    if status is None:
        return DASH
    word = status_word(status, lang) if on is None else status_text(status, lang, on)
    return f"{status_mark(status)} {word}"


def _sv_participle(n: int) -> str:
    return "uppnått" if n == 1 else "uppnådda"


def rollup_sentence(evaluation: Evaluation, lang: str) -> str:
    """The seed's sentence over the board goals' statuses and the department's status.

    "Med 3 nämndmål uppnådda, 0 ej uppnådda och 1 delvis uppnått anses
    förvaltningens mål vara delvis uppnådda." Board goals that could not be
    assessed (no values) are added as their own count when there are any.
    """
    _locale(lang)
    achieved = evaluation.counts.get("achieved", 0)
    not_achieved = evaluation.counts.get("not_achieved", 0)
    partially = evaluation.counts.get("partially", 0)
    unassessed = sum(1 for c in evaluation.council_goals for b in c.board_goals if b.status is None)
    if lang == "sv":
        parts = [
            f"{achieved} nämndmål {_sv_participle(achieved)}",
            f"{not_achieved} ej {_sv_participle(not_achieved)}",
            f"{partially} delvis {_sv_participle(partially)}",
        ]
        if unassessed:
            parts.append(f"{unassessed} {'obedömt' if unassessed == 1 else 'obedömda'}")
        ending = {
            "achieved": "anses förvaltningens mål vara uppnådda.",
            "not_achieved": "anses förvaltningens mål inte vara uppnådda.",
            "partially": "anses förvaltningens mål vara delvis uppnådda.",
            None: "kan förvaltningens måluppfyllelse inte bedömas.",
        }[evaluation.status]
        return f"Med {_join(parts, 'och')} {ending}"
    parts = [
        f"{achieved} board {'goal' if achieved == 1 else 'goals'} achieved",
        f"{not_achieved} not achieved",
        f"{partially} partially achieved",
    ]
    if unassessed:
        parts.append(f"{unassessed} not assessed")
    ending = {
        "achieved": "the department's goals are considered achieved.",
        "not_achieved": "the department's goals are considered not achieved.",
        "partially": "the department's goals are considered partially achieved.",
        None: "the department's goal attainment cannot be assessed.",
    }[evaluation.status]
    return f"With {_join(parts, 'and')}, {ending}"


def _join(parts: list[str], conjunction: str) -> str:
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


def month_short(d: date, lang: str) -> str:
    """`jan`, `feb` (sv); `Jan`, `Feb` (en): a month as a column header."""
    names = get_month_names("abbreviated", context="stand-alone", locale=_locale(lang))
    return str(names[d.month]).rstrip(".")


_TERTIAL = re.compile(r"^(\d{4})-T([1-3])$")


def _month(n: int, lang: str) -> str:
    # Stand-alone names: "januari" (sv, lower case as Swedish writes them), "January" (en).
    return str(get_month_names("wide", context="stand-alone", locale=_locale(lang))[n])


def period_title(label: str, start: date, end: date, lang: str) -> str:
    """The period in words: `2022`, `tertial 2 2022`, `augusti 2022`,
    `januari-juli 2022` (with an en dash).

    `end` is the last day, inclusive. A tertial is named when the user asked for one
    (label `2022-T2`); whole months are named by month; any other span by its dates.
    """
    m = _TERTIAL.match(label)
    if m:
        return f"tertial {m[2]} {m[1]}" if lang == "sv" else f"tertial {m[2]}, {m[1]}"
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    if not whole_months:
        first = format_date(start, "d MMMM y", locale=_locale(lang))
        return f"{first}{DASH}{format_date(end, 'd MMMM y', locale=_locale(lang))}"
    if start.year == end.year:
        if (start.month, end.month) == (1, 12):
            return str(start.year)
        if start.month == end.month:
            return f"{_month(start.month, lang)} {start.year}"
        return f"{_month(start.month, lang)}{DASH}{_month(end.month, lang)} {start.year}"
    return f"{_month(start.month, lang)} {start.year}{DASH}{_month(end.month, lang)} {end.year}"


def local(t: datetime) -> datetime:
    """An aware instant in Europe/Stockholm; a naive one is taken as already local."""
    return t if t.tzinfo is None else t.astimezone(STOCKHOLM)


def timestamp(t: datetime | None) -> str:
    """`2022-03-14 09:12`, Stockholm time (ISO dates read the same in both languages)."""
    return DASH if t is None else local(t).strftime("%Y-%m-%d %H:%M")


def duration(minutes: float | None, lang: str) -> str:
    """`2 h 15 min`, `45 min`; an open incident has no duration yet."""
    if minutes is None:
        return "pågår" if lang == "sv" else "ongoing"
    total = round(minutes)
    hours, mins = divmod(total, 60)
    if hours == 0:
        return f"{mins}{NBSP}min"
    return f"{number(hours, lang, 0)}{NBSP}h {mins}{NBSP}min"


def scope(services: Iterable[str], lang: str) -> str:
    names = list(services)
    if "*" in names:
        return "alla tjänster" if lang == "sv" else "all services"
    return ", ".join(names) if names else DASH
