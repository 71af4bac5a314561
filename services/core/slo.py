"""Service-level objectives and targets (config/slos.yaml), and the burn rates of the objectives.

An objective says what share of events must be good over a rolling window, e.g.
95 % of calls not abandoned over 28 days. Its SLI is two sums of counters,
good and total; the error ratio is (total - good) / total and the error budget
is 1 - objective. Alerting follows the SRE workbook's multi-window, multi-burn-rate
table as slok/sloth does: each condition allows spending a share of the whole
window's budget within its long window, so its burn-rate factor scales with the
window (14.4 over 1h for 30 days is 13.44 for 28). That only works for objectives
near 100 %: at 70 % the budget can burn at most 3.3 times too fast.

A service level (`service_levels`) is a target like "at least 70 % of calls answered
within 20 s", judged directly against the target: over a short window, today so
far and the goal periods so far, each with a minimum number of counted calls.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
RESERVED_LABELS = frozenset({"slo", "service", "severity", "alertname"})  # the rules set these


class SloError(ValueError):
    """The SLO file is wrong; the one-line message names the place (`objectives[1].window`)."""


def seconds(duration: str) -> int:
    """A Prometheus duration of one unit (`5m`, `6h`, `28d`, `4w`) in seconds."""
    found = re.fullmatch(r"([1-9][0-9]*)([mhdw])", duration)
    if found is None:
        raise ValueError(f"{duration!r} is not a duration like 30m, 6h, 28d or 4w")
    return int(found[1]) * _UNITS[found[2]]


@dataclass(frozen=True)
class BurnWindow:
    """One alert condition: spending `budget_percent` of the window's budget within `long`."""

    severity: Literal["page", "ticket"]
    budget_percent: int
    long: str
    short: str  # a twelfth of long: resets the alert soon after the burning stops


# The SRE workbook's table (its 30-day factors 14.4, 6, 3 and 1 come from these).
BURN_WINDOWS = (
    BurnWindow("page", 2, "1h", "5m"),
    BurnWindow("page", 5, "6h", "30m"),
    BurnWindow("ticket", 10, "1d", "2h"),
    BurnWindow("ticket", 10, "3d", "6h"),
)
RATE_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")  # every short and long window
MIN_WINDOW = "7d"  # a window must be well beyond the longest alert window (3d)


@dataclass(frozen=True)
class Term:
    """`sign` times the increase of one counter selector, e.g. -opstrack_x_total{a="b"}."""

    sign: Literal[1, -1]
    metric: str
    matchers: tuple[tuple[str, str, str], ...] = ()  # (label, operator, value)

    @property
    def selector(self) -> str:
        inner = ", ".join(f'{label}{op}"{value}"' for label, op, value in self.matchers)
        return f"{self.metric}{{{inner}}}" if inner else self.metric


@dataclass(frozen=True)
class Objective:
    name: str
    service: str
    group: str
    description: str
    objective: Fraction  # exact, so thresholds are exact too (0.7 is 7/10, not 0.69999…)
    window: str
    by: tuple[str, ...]
    good: tuple[Term, ...]
    total: tuple[Term, ...]
    runbook: str  # one line: what the ops person does when its alert fires

    @property
    def budget(self) -> Fraction:
        return 1 - self.objective


def burn_factor(window: str, w: BurnWindow) -> Fraction:
    """How many times faster than the window allows the condition lets the budget burn."""
    return Fraction(w.budget_percent, 100) * seconds(window) / seconds(w.long)


def error_ratio_threshold(o: Objective, w: BurnWindow) -> Fraction:
    """The error ratio above which `w` fires; at or above 1 it never can."""
    return burn_factor(o.window, w) * o.budget


class _Sli(BaseModel):
    model_config = ConfigDict(extra="forbid")
    good: str
    total: str


class _Named(BaseModel):
    """What objectives and service levels both begin with: which, whose, where, what."""

    model_config = ConfigDict(extra="forbid")
    name: Slug
    service: Slug
    group: Slug
    description: str = Field(min_length=1, max_length=200)


class _Objective(_Named):
    objective: float = Field(gt=0, lt=1)
    window: str | None = None
    by: list[str] = Field(default_factory=list)
    sli: _Sli
    runbook: str = Field(min_length=1, max_length=300, pattern=r"^[^\n]+$")


class _Fast(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: str = "30m"
    below: float = Field(0.6, gt=0, lt=1)
    min_calls: int = Field(10, ge=1)
    severity: Literal["page", "ticket"] = "ticket"


class _Today(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_calls: int = Field(100, ge=1)
    severity: Literal["page", "ticket"] = "ticket"


Period = Literal["month", "tertial", "year"]  # goal periods of the worker's period gauges


def _periods(*default: Period) -> list[Period]:
    return list(default)


class _Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    periods: list[Period] = Field(
        default_factory=lambda: _periods("month", "tertial"), min_length=1
    )
    min_calls: int = Field(500, ge=1)


class _ServiceLevel(_Named):
    target: float = Field(gt=0, lt=1)
    by: list[str] = Field(default_factory=list)
    sli: _Sli
    fast: _Fast = Field(default_factory=_Fast)
    today: _Today = Field(default_factory=_Today)
    goal: _Goal = Field(default_factory=_Goal)


class _HandlingTime(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_hours: float = Field(gt=0)
    min_resolved: int = Field(ge=1)
    periods: list[Period] = Field(default_factory=lambda: _periods("month"), min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    runbook_url: str = Field(pattern=r"^https?://\S+$")
    window: str = "28d"
    objectives: list[_Objective] = Field(default_factory=list)
    service_levels: list[_ServiceLevel] = Field(default_factory=list)
    handling_time: _HandlingTime | None = None


Counters = Mapping[str, frozenset[str]]  # counter name -> its label names


@dataclass(frozen=True)
class ServiceLevel:
    """A target "at least `target` of the counted calls good", e.g. 70 % within 20 s.

    Judged three ways: over the last `fast_window` of counters (against `fast_below`),
    today so far and each goal period so far (the worker's store-derived period
    gauges, against the target); each only with enough counted calls (`*_min_calls`)
    to mean something.
    """

    name: str
    service: str
    group: str
    description: str
    target: Fraction  # exact: a service level exactly at the target meets it
    by: tuple[str, ...]
    good: tuple[Term, ...]
    total: tuple[Term, ...]
    fast_window: str
    fast_below: Fraction  # at most the target: an hour's figure is noisy at 40-60 calls
    fast_min_calls: int
    fast_severity: Literal["page", "ticket"]
    today_min_calls: int
    today_severity: Literal["page", "ticket"]
    goal_periods: tuple[str, ...]
    goal_min_calls: int


@dataclass(frozen=True)
class HandlingTime:
    """The board goal "mean handling time at most `target_hours`", per goal period so far."""

    target_hours: Fraction
    min_resolved: int
    periods: tuple[str, ...]


@dataclass(frozen=True)
class Spec:
    """Everything config/slos.yaml says: what the generated alerts are made of."""

    runbook_url: str  # docs/runbook.md as published; each alert links base + '#' + anchor
    objectives: tuple[Objective, ...]
    service_levels: tuple[ServiceLevel, ...] = ()
    handling_time: HandlingTime | None = None


def period_gauge(metric: str) -> str:
    """The worker's store-derived gauge of a counter: opstrack_calls_x_total -> opstrack_period_calls_x."""
    return "opstrack_period_" + metric.removeprefix("opstrack_").removesuffix("_total")


def load_spec(
    data: Mapping[str, Any],
    counters: Counters | None = None,
    services: frozenset[str] | None = None,
) -> Spec:
    """The spec of parsed YAML, or SloError naming the place (`service_levels[0].target`).

    With `counters` every metric must be one of them and have the labels used; with
    `services` every service must be one of them.
    """
    try:
        spec = _File.model_validate(data)
    except ValidationError as exc:
        raise SloError(_schema_message(exc)) from None
    _window("window", spec.window)
    if not spec.objectives and not spec.service_levels:
        raise SloError("(file): no objectives and no service_levels: nothing to alert on")
    seen: set[str] = set()

    def common(at: str, o: _Objective | _ServiceLevel) -> tuple[tuple[Term, ...], tuple[Term, ...]]:
        """Checks what objectives and service levels share; their SLI's good and total."""
        if o.name in seen:
            raise SloError(f"{at}.name: duplicate objective name {o.name!r}")
        seen.add(o.name)
        if services is not None and o.service not in services:
            raise SloError(
                f"{at}.service: unknown service {o.service!r}{_hint(o.service, services)}"
            )
        good = _terms(f"{at}.sli.good", o.sli.good, counters)
        total = _terms(f"{at}.sli.total", o.sli.total, counters)
        _check_by(at, o.by, (*good, *total), counters)
        return good, total

    out = []
    for i, o in enumerate(spec.objectives):
        at = f"objectives[{i}]"
        good, total = common(at, o)
        window = o.window or spec.window
        _window(f"{at}.window", window)
        out.append(
            Objective(
                o.name,
                o.service,
                o.group,
                o.description,
                _exact(o.objective),
                window,
                tuple(o.by),
                good,
                total,
                o.runbook,
            )
        )
    levels = []
    for i, sl in enumerate(spec.service_levels):
        at = f"service_levels[{i}]"
        good, total = common(at, sl)
        try:
            fast = seconds(sl.fast.window)
        except ValueError as exc:
            raise SloError(f"{at}.fast.window: {exc}") from None
        if not seconds("10m") <= fast <= seconds("6h"):
            raise SloError(f"{at}.fast.window: {sl.fast.window!r}: need 10m to 6h")
        if sl.fast.below > sl.target:
            raise SloError(f"{at}.fast.below: {sl.fast.below} is above the target {sl.target}")
        if len(set(sl.goal.periods)) != len(sl.goal.periods):
            raise SloError(f"{at}.goal.periods: a period is named twice")
        levels.append(
            ServiceLevel(
                sl.name,
                sl.service,
                sl.group,
                sl.description,
                _exact(sl.target),
                tuple(sl.by),
                good,
                total,
                sl.fast.window,
                _exact(sl.fast.below),
                sl.fast.min_calls,
                sl.fast.severity,
                sl.today.min_calls,
                sl.today.severity,
                tuple(sl.goal.periods),
                sl.goal.min_calls,
            )
        )
    handling = None
    if spec.handling_time is not None:
        h = spec.handling_time
        if len(set(h.periods)) != len(h.periods):
            raise SloError("handling_time.periods: a period is named twice")
        handling = HandlingTime(_exact(h.target_hours), h.min_resolved, tuple(h.periods))
    return Spec(spec.runbook_url, tuple(out), tuple(levels), handling)


def _exact(value: float) -> Fraction:
    # repr() gives back the decimal the user wrote, so Fraction keeps it exact.
    return Fraction(repr(value))


def _window(at: str, window: str) -> None:
    try:
        ok = window[-1:] in ("d", "w") and seconds(window) >= seconds(MIN_WINDOW)
    except ValueError as exc:
        raise SloError(f"{at}: {exc}") from None
    if not ok:
        raise SloError(f"{at}: {window!r}: need whole days or weeks, at least {MIN_WINDOW}")


_TERM = re.compile(r"\s*([+-])\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^{}]*)\})?\s*")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"\\]*)"\s*(?:,|$)')


def _terms(at: str, text: str, counters: Counters | None) -> tuple[Term, ...]:
    """`a_total{x="1"} - b_total`: counters joined by + and -, the first one added."""
    source = text.strip()
    if not source.startswith(("+", "-")):
        source = "+" + source
    terms, pos = [], 0
    while pos < len(source):
        found = _TERM.match(source, pos)
        if found is None or found.end() == pos:
            rest = source[pos:].strip()
            raise SloError(f"{at}: cannot read {rest!r}: write counters joined by + and -")
        sign, metric, inner = found.groups()
        terms.append(Term(1 if sign == "+" else -1, metric, _matchers(at, inner or "")))
        pos = found.end()
    if terms[0].sign != 1:
        raise SloError(f"{at}: the first counter must be added, not subtracted")
    for t in terms:
        _check_counter(at, t, counters)
    return tuple(terms)


def _matchers(at: str, inner: str) -> tuple[tuple[str, str, str], ...]:
    out, pos = [], 0
    while inner[pos:].strip():
        found = _MATCHER.match(inner, pos)
        if found is None:
            raise SloError(f'{at}: cannot read the matcher {inner[pos:].strip()!r} (label="value")')
        label, op, value = found.groups()
        out.append((label, op, value))
        pos = found.end()
    return tuple(out)


def _check_counter(at: str, t: Term, counters: Counters | None) -> None:
    # rate() and increase() only make sense for counters, whose names end in _total.
    if not t.metric.endswith("_total"):
        raise SloError(f"{at}: {t.metric!r} is not a counter (counter names end in _total)")
    if counters is None:
        return
    if t.metric not in counters:
        raise SloError(f"{at}: unknown counter {t.metric!r}{_hint(t.metric, counters)}")
    for label, _, _ in t.matchers:
        if label not in counters[t.metric]:
            raise SloError(f"{at}: {t.metric} has no label {label!r}")


def _check_by(at: str, by: list[str], terms: tuple[Term, ...], counters: Counters | None) -> None:
    for label in by:
        if label in RESERVED_LABELS or not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
            raise SloError(f"{at}.by: {label!r} cannot be a split label")
        # Summing by a label a counter lacks would merge its series into one without it.
        lacking = [t.metric for t in terms if counters and label not in counters[t.metric]]
        if lacking:
            raise SloError(f"{at}.by: {lacking[0]} has no label {label!r}")
    if len(set(by)) != len(by):
        raise SloError(f"{at}.by: a label is named twice")


def _hint(name: str, known: Mapping[str, object] | frozenset[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _schema_message(exc: ValidationError) -> str:
    """Each problem as `objectives[0].objective: Input should be less than 1`, on one line."""
    parts = []
    for err in exc.errors(include_url=False):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        parts.append(f"{path.lstrip('.') or '(file)'}: {err['msg']}")
    return "; ".join(parts)
