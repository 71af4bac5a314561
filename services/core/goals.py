"""The goals file: council goals -> board goals -> indicators, each with a source, unit and target.

This is the shape of the goal table (MER) the department hands its board. Percent
values are fractions of 1 (0.78 for 78 %), like the SLIs, so a target and an SLI
compare without conversion. Build it with `load_goals`, whose `GoalsError` names the
path at fault in one line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

Value = float | bool  # the same as an indicator.measured event's value; bool for yes/no

Sli = Literal[
    "calls.service_level.20",
    "calls.service_level.60",
    "calls.abandon_rate",
    "calls.asa_seconds",
    "tickets.handling_time.mean",
    "tickets.handling_time.median",
    "tickets.handling_time.p90",
    "tickets.business_handling_time.mean",
    "incidents.availability",
    "incidents.mttr_minutes",
    "changes.violations",
]

# What each SLI family can be narrowed by: the store's filter columns, so a name not
# listed here would be a query error later rather than a clear message now.
FILTERS: dict[str, frozenset[str]] = {
    "calls": frozenset({"queue", "municipality"}),
    "tickets": frozenset({"category", "priority", "municipality"}),
    "incidents": frozenset({"service", "municipality"}),  # incidents that touched it
    "changes": frozenset({"service"}),
}
_NUMBER_FILTERS = frozenset({"priority"})  # priorities are 1-4 in events; the rest are names

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,99}$"  # ids appear in events, URLs and metric labels


class GoalsError(ValueError):
    """The goals file is not usable; the one-line message names the path at fault."""


def _target_value(v: object) -> object:
    # Stricter than pydantic's lax float|bool, which would read "yes" as True and
    # "0.7" as 0.7 and report a failure twice (once per union member).
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and math.isfinite(v):
        return float(v)
    raise ValueError(f"should be a number, or true/false for a yes/no target, got {v!r}")


def _filter_values(v: object) -> object:
    # Same reason as above; bool is refused because YAML reads `yes` as true, which
    # lax int validation would then turn into priority 1.
    if isinstance(v, Mapping):
        for name, value in v.items():
            if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
                raise ValueError(f"filter {name!r} should be a name or a number, got {value!r}")
    return v


class _Model(BaseModel):
    # Unknown keys are refused so that a misspelt key is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    sv: str = Field(min_length=1)
    en: str | None = Field(None, min_length=1)

    def get(self, lang: str) -> str:
        """The text in `lang`; Swedish when there is no English one."""
        return self.en if lang == "en" and self.en is not None else self.sv


class Source(_Model):
    """Where the values come from: an SLI computed from the streams, or (sli None) entered by hand."""

    sli: Sli | None = None
    filters: Annotated[dict[str, str | int], BeforeValidator(_filter_values)] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _check_filters(self) -> Source:
        if self.sli is None:
            if self.filters:
                raise ValueError("filters need an sli: manual values are not filtered")
            return self
        family = self.sli.split(".", 1)[0]
        allowed = FILTERS[family]
        for name, value in self.filters.items():
            if name not in allowed:
                raise ValueError(
                    f"{family} cannot be filtered by {name!r}: use {', '.join(sorted(allowed))}"
                )
            if name in _NUMBER_FILTERS and not (isinstance(value, int) and 1 <= value <= 4):
                raise ValueError(f"filter {name!r} takes a whole number 1-4, got {value!r}")
            if name not in _NUMBER_FILTERS and not isinstance(value, str):
                raise ValueError(f"filter {name!r} takes a name, got {value!r} (quote it)")
        if self.sli == "incidents.availability" and "service" not in self.filters:
            # Availability is a property of one service (and what it depends on).
            raise ValueError("incidents.availability needs a 'service' filter")
        return self


class Target(_Model):
    rule: Literal["at_most", "at_least", "increase_from", "equals"]
    value: Annotated[float | bool, BeforeValidator(_target_value)]
    # Whether the report writes the rule's words (högst, Öka från) before the value.
    # The seed writes some targets bare ("7 %" for sick leave, which is at most 7 %).
    show_rule: bool = True

    @model_validator(mode="after")
    def _bool_only_equals(self) -> Target:
        if isinstance(self.value, bool) and self.rule != "equals":
            raise ValueError(f"a yes/no target needs rule 'equals', not {self.rule!r}")
        return self


class Indicator(_Model):
    id: str = Field(pattern=_SLUG)
    title: Text
    unit: Literal["hours", "percent", "count", "score", "tkr", "yesno", "st"]
    source: Source = Source()
    target: Target
    forecast: Literal["last", "linear", "manual"] = "last"
    decimals: int | None = Field(None, ge=0, le=6)  # fixed decimals in the report, else as needed

    @model_validator(mode="after")
    def _consistent(self) -> Indicator:
        yes_no = isinstance(self.target.value, bool)
        if self.unit == "yesno" and not yes_no:
            raise ValueError("unit 'yesno' needs a yes/no target (true or false)")
        if yes_no and self.unit != "yesno":
            raise ValueError(f"a yes/no target needs unit 'yesno', not {self.unit!r}")
        if yes_no and (self.source.sli is not None or self.forecast == "linear"):
            # SLIs are numbers and a trend of yes/no values means nothing.
            raise ValueError("a yes/no indicator takes manual values and no 'linear' forecast")
        if self.unit == "percent" and not 0 <= float(self.target.value) <= 1:
            # The likeliest slip in the file: 70 where 0.70 was meant.
            raise ValueError(
                f"percent targets are fractions: write {self.target.value / 100:g} "
                f"for {self.target.value:g} %"
            )
        return self


class BoardGoal(_Model):
    # The seed has indicators under no board goal: write that as sv "ingen", en "none".
    title: Text
    indicators: list[Indicator] = Field(min_length=1)


class CouncilGoal(_Model):
    title: Text
    board_goals: list[BoardGoal] = Field(min_length=1)


class Goals(_Model):
    area: Text | None = None  # the målområde heading the table
    judge_on: Literal["forecast", "current"] = "forecast"
    council_goals: list[CouncilGoal] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Goals:
        # Manual values are sent by indicator id, so an id must name one indicator.
        seen: dict[str, str] = {}
        for c, council in enumerate(self.council_goals):
            for b, board in enumerate(council.board_goals):
                for i, ind in enumerate(board.indicators):
                    here = f"council_goals[{c}].board_goals[{b}].indicators[{i}]"
                    if ind.id in seen:
                        raise ValueError(
                            f"duplicate indicator id {ind.id!r} ({seen[ind.id]} and {here})"
                        )
                    seen[ind.id] = here
        return self


def load_goals(data: Mapping[str, Any]) -> Goals:
    """The goals from parsed YAML, or GoalsError."""
    try:
        return Goals.model_validate(data)
    except ValidationError as exc:
        raise GoalsError(_message(exc, data)) from None


def indicators(goals: Goals) -> list[Indicator]:
    """Every indicator in table order."""
    return [i for c in goals.council_goals for b in c.board_goals for i in b.indicators]


def _message(exc: ValidationError, data: object) -> str:
    """Each problem as `council_goals[0]...target.rule (indicator 'x'): msg`, on one line."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        # Our own checks raise ValueError; pydantic's "Value error, " prefix is noise.
        msg = str(err["ctx"]["error"]) if err["type"] == "value_error" else err["msg"]
        where = f"{path}{_which(loc, data)}"
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def _which(loc: tuple[int | str, ...], data: object) -> str:
    # Naming the indicator by id saves the editor counting list items in the YAML.
    node, found = data, None
    for prev, step in zip((None, *loc), loc, strict=False):
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            if prev == "indicators" and isinstance(node, Mapping):
                found = node.get("id")
        elif isinstance(step, str) and isinstance(node, Mapping):
            node = node.get(step)
        else:
            break
    return f" (indicator {found!r})" if isinstance(found, str) else ""
