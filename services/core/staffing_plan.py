"""A week's staffing plan: expected calls per half hour, and the agents they need.

Pure: the caller hands in the hourly call buckets of the history (one queue or all
queues pooled, as if one team answered them) and the business calendar.

Forecast (README, "Staffing"):
- basis: the same ISO week and its neighbours (week - 1, week, week + 1) in each of
  the `history_years` years before; when those hold no calls, the `trailing_weeks`
  weeks just before the week;
- expected calls per weekday and local hour = the mean over the basis days of that
  weekday that were open (holidays and bridge days left out; a basis week without
  a single call is taken for one without data and left out), times
  `bridge_day_factor` on a bridge day (an open weekday between a closed weekday
  and the weekend, such as the Friday after Ascension); closed days need no one;
- the buckets are hourly, so each hour's calls are split evenly into its two half
  hours (no finer data is kept);
- average handle time: the basis's talk time (talk_ms / talked), else the
  configured `default_aht_seconds`; callers' patience: the basis's total wait /
  abandoned calls (the censored estimate, services.core.staffing);
- agents by Erlang C and Erlang A for the target, expected service level and
  occupancy at that staffing, and scheduled agents after shrinkage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket, total
from services.core.staffing import (
    Performance,
    StaffingError,
    patience_estimate,
    required_agents_a,
    required_agents_c,
    with_shrinkage,
)

HALF_HOUR = 1800
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class StaffingConfig:
    """config/staffing.yaml: the defaults of the target and the forecast's settings."""

    target: float = 0.70
    within: int = 20
    shrinkage: float = 0.30
    default_aht_seconds: float = 300.0
    bridge_day_factor: float = 0.6
    history_years: int = 3
    trailing_weeks: int = 6


def parse_config(raw: object) -> StaffingConfig:
    """The staffing settings of a YAML mapping; ValueError naming the bad key."""
    if raw is None:
        return StaffingConfig()
    if not isinstance(raw, Mapping):
        raise ValueError("staffing: expected a mapping of settings")
    fields = StaffingConfig.__dataclass_fields__
    unknown = set(raw) - set(fields)
    if unknown:
        raise ValueError(f"staffing: unknown setting(s) {', '.join(sorted(map(str, unknown)))}")
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"staffing.{name}: expected a number, got {value!r}")
        values[name] = value
    cfg = StaffingConfig(**values)
    checks = {
        "target": 0 < cfg.target < 1,
        "within": cfg.within > 0,
        "shrinkage": 0 <= cfg.shrinkage < 1,
        "default_aht_seconds": cfg.default_aht_seconds > 0,
        "bridge_day_factor": 0 <= cfg.bridge_day_factor <= 1,
        "history_years": 0 <= cfg.history_years <= 10,
        "trailing_weeks": 1 <= cfg.trailing_weeks <= 52,
    }
    for name, ok in checks.items():
        if not ok:
            raise ValueError(f"staffing.{name}: {getattr(cfg, name)!r} is out of range")
    return cfg


def week_monday(year: int, week: int) -> date:
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ValueError(f"{year}-W{week:02d} is not an ISO week") from None


def history_span(
    year: int, week: int, cfg: StaffingConfig, cal: BusinessCalendar
) -> tuple[datetime, datetime]:
    """The UTC instants between which the plan may read buckets (whole local days)."""
    monday = week_monday(year, week)
    first = min(
        [monday - timedelta(weeks=cfg.trailing_weeks)]
        + [m for m, _ in _same_weeks(year, week, cfg)]
    )

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=cal.tz).astimezone(UTC)

    return midnight(first), midnight(monday)


def _same_weeks(year: int, week: int, cfg: StaffingConfig) -> list[tuple[date, str]]:
    out = []
    for back in range(1, cfg.history_years + 1):
        y = year - back
        last_week = date(y, 12, 28).isocalendar().week  # 28 December is in the last week
        centre = date.fromisocalendar(y, min(week, last_week), 1)
        out += [(m, _label(m)) for m in (centre + timedelta(weeks=s) for s in (-1, 0, 1))]
    return out


def _label(monday: date) -> str:
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def is_bridge_day(day: date, cal: BusinessCalendar) -> bool:
    """An open day squeezed between a closed weekday (a holiday) and the weekend."""
    if not cal.is_open_day(day):
        return False
    before, after = day - timedelta(days=1), day + timedelta(days=1)

    def holiday(d: date) -> bool:
        return d.weekday() in cal.workdays and not cal.is_open_day(d)

    def weekend(d: date) -> bool:
        return d.weekday() not in cal.workdays

    return (holiday(before) and weekend(after)) or (weekend(before) and holiday(after))


def plan_week(
    year: int,
    week: int,
    hourly: Mapping[int, CallBucket],
    cal: BusinessCalendar,
    cfg: StaffingConfig,
    *,
    target: float | None = None,
    within: int | None = None,
) -> dict[str, Any]:
    """The staffing plan of ISO week `year`-W`week` from hourly buckets (UTC hour -> bucket)."""
    target = cfg.target if target is None else target
    within = cfg.within if within is None else within
    if not 0 < target < 1:
        raise StaffingError(f"target must be in (0, 1), got {target!r}")
    if within <= 0:
        raise StaffingError(f"within must be a positive number of seconds, got {within!r}")
    monday = week_monday(year, week)
    by_day: dict[date, dict[int, CallBucket]] = {}
    for hour, bucket in hourly.items():
        local = datetime.fromtimestamp(hour, UTC).astimezone(cal.tz)
        by_day.setdefault(local.date(), {})[local.hour] = bucket

    def days_of(mondays: list[date]) -> list[date]:
        return [m + timedelta(days=i) for m in mondays for i in range(7)]

    same = _same_weeks(year, week, cfg)
    trailing = [
        (m, _label(m))
        for m in (monday - timedelta(weeks=i) for i in range(cfg.trailing_weeks, 0, -1))
    ]

    # A week without a single call is taken for a week without data (before the
    # source was connected, say), not for a week nobody called.
    def with_data(weeks: list[tuple[date, str]]) -> list[tuple[date, str]]:
        return [(m, label) for m, label in weeks if any(d in by_day for d in days_of([m]))]

    kind, chosen = "same_weeks", with_data(same)
    if not chosen:
        kind, chosen = "trailing_weeks", with_data(trailing)
    basis_days = [
        d
        for d in days_of([m for m, _ in chosen])
        if cal.is_open_day(d) and not is_bridge_day(d, cal)
    ]
    if not chosen:
        kind = "none"
    basis_total = total(b for d in basis_days for b in by_day.get(d, {}).values())

    aht_source = "talk times"
    aht = basis_total.talk_ms / 1000 / basis_total.talked if basis_total.talked else None
    if aht is None:
        aht, aht_source = cfg.default_aht_seconds, "configured"
    patience = patience_estimate(basis_total.wait_offered_ms / 1000, basis_total.abandoned)

    # Mean calls per weekday and local hour over the open basis days of that weekday.
    per_weekday: dict[int, dict[int, float]] = {}
    for wd in range(7):
        days = [d for d in basis_days if d.weekday() == wd]
        if not days:
            continue
        sums: dict[int, int] = {}
        for d in days:
            for h, b in by_day.get(d, {}).items():
                sums[h] = sums.get(h, 0) + b.offered
        per_weekday[wd] = {h: n / len(days) for h, n in sums.items()}

    out_days = []
    for i in range(7):
        day = monday + timedelta(days=i)
        out_days.append(
            _plan_day(
                day, cal, cfg, per_weekday.get(day.weekday(), {}), aht, patience, target, within
            )
        )
    return {
        "week": f"{year}-W{week:02d}",
        "target": target,
        "within_seconds": within,
        "shrinkage": cfg.shrinkage,
        "basis": {"kind": kind, "weeks": [label for _, label in chosen]},
        "interval_minutes": 30,
        "split": "hourly buckets split evenly into half hours",
        "aht_seconds": aht,
        "aht_source": aht_source,
        "patience_seconds": patience,
        "agent_hours": {
            key: sum(d["agent_hours"][key] for d in out_days)
            for key in ("erlang_c", "erlang_a", "scheduled")
        },
        "days": out_days,
    }


def _plan_day(
    day: date,
    cal: BusinessCalendar,
    cfg: StaffingConfig,
    hourly_mean: Mapping[int, float],
    aht: float,
    patience: float | None,
    target: float,
    within: int,
) -> dict[str, Any]:
    open_day = cal.is_open_day(day)
    bridge = is_bridge_day(day, cal)
    factor = cfg.bridge_day_factor if bridge else 1.0
    intervals = []
    if open_day:
        start = datetime.combine(day, cal.opens, tzinfo=cal.tz)
        end = datetime.combine(day, cal.closes, tzinfo=cal.tz)
        t = start
        while t < end:
            calls = hourly_mean.get(t.hour, 0.0) * factor / 2  # half of the hour's calls
            intervals.append(_interval(t, calls, aht, patience, target, within, cfg.shrinkage))
            t += timedelta(seconds=HALF_HOUR)
    hours = {"erlang_c": 0.0, "erlang_a": 0.0, "scheduled": 0.0}
    for iv in intervals:
        hours["erlang_c"] += iv["erlang_c"]["agents"] / 2 if iv["erlang_c"] else 0
        hours["erlang_a"] += iv["erlang_a"]["agents"] / 2 if iv["erlang_a"] else 0
        hours["scheduled"] += iv["scheduled"] / 2
    return {
        "date": day.isoformat(),
        "weekday": WEEKDAYS[day.weekday()],
        "open": open_day,
        "bridge_day": bridge,
        "calls": sum(iv["calls"] for iv in intervals),
        "agent_hours": hours,
        "intervals": intervals,
    }


def _perf(p: Performance) -> dict[str, Any]:
    return {
        "agents": p.agents,
        "service_level": p.service_level,
        "occupancy": p.occupancy,
        "mean_wait_seconds": p.mean_wait_seconds,
        "abandon_probability": p.abandon_probability,
    }


def _interval(
    start: datetime,
    calls: float,
    aht: float,
    patience: float | None,
    target: float,
    within: int,
    shrinkage: float,
) -> dict[str, Any]:
    row: dict[str, Any] = {"start": start.isoformat(), "calls": calls}
    if calls <= 0:
        # Nobody is expected: no agent is required, and no service level can be judged.
        return row | {"erlang_c": None, "erlang_a": None, "scheduled": 0}
    rate = calls / HALF_HOUR
    c = required_agents_c(rate, aht, within, target)
    a = None if patience is None else required_agents_a(rate, aht, within, target, patience)
    return row | {
        "erlang_c": _perf(c),
        "erlang_a": None if a is None else _perf(a),
        "scheduled": with_shrinkage(c.agents, shrinkage),
    }


@dataclass(frozen=True, slots=True)
class PeriodStaffing:
    """A period's phones in an average week: what the target needed against what was used.

    needed_hours: Erlang C agents for the target, times half an hour, summed over the
    open half hours of an average week of the period (its calls pooled, as one team);
    talk_hours: the period's talk time per week. Talk time, not staffed time: the
    queue log has no agent logins, so time ready or after-call work is not in it.
    """

    needed_hours: float
    talk_hours: float


def period_staffing(
    hourly: Mapping[int, CallBucket],
    weeks: float,
    cal: BusinessCalendar,
    target: float,
    within: int,
) -> PeriodStaffing | None:
    """The agent-hours a week a period's own calls needed for `target` within `within` s.

    `hourly` holds the period's hourly buckets (UTC hour -> bucket), `weeks` its length
    in weeks. Each open half hour of the week gets the calls of its local weekday and
    hour over the period, halved (hourly buckets, split evenly as in plan_week) and
    divided by `weeks`; AHT is the period's talk time per talked call. Calls outside
    opening hours need no one. None without calls or without talk time (no AHT).
    """
    if not weeks > 0:
        raise StaffingError(f"weeks must be positive, got {weeks!r}")
    pooled = total(hourly.values())
    if pooled.offered == 0 or pooled.talked == 0 or pooled.talk_ms == 0:
        return None
    aht = pooled.talk_ms / 1000 / pooled.talked
    calls: dict[tuple[int, int], int] = {}  # (local weekday, local hour) -> calls
    for hour, bucket in hourly.items():
        local = datetime.fromtimestamp(hour, UTC).astimezone(cal.tz)
        key = (local.weekday(), local.hour)
        calls[key] = calls.get(key, 0) + bucket.offered
    needed = 0.0
    opens = cal.opens.hour * 60 + cal.opens.minute
    closes = cal.closes.hour * 60 + cal.closes.minute
    for weekday in sorted(cal.workdays):
        for minute in range(opens, closes, HALF_HOUR // 60):
            per_week = calls.get((weekday, minute // 60), 0) / 2 / weeks
            if per_week > 0:
                agents = required_agents_c(per_week / HALF_HOUR, aht, within, target).agents
                needed += agents / 2
    return PeriodStaffing(needed_hours=needed, talk_hours=pooled.talk_ms / 3_600_000 / weeks)
