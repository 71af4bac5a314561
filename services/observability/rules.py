"""Prometheus rules from the SLO file, plus opstrack's ITSM alerts, as deterministic YAML text.

One file per SLO group (`slo-<group>.yml`) and `itsm.yml`. For a service level
(a target like 70 % within 20 s) the service level and its counted calls are
recorded over a short window of counters and over today, the month and the
tertial from the worker's store-derived period gauges, and three alerts compare
them with the exact levels. A burn-rate objective (95 % not abandoned) follows
slok/sloth: the error ratio recorded over every window an alert needs, and one
alert name with a `page` and a `ticket` severity, each firing when both its long
and its short window burn the error budget too fast.

Other rule modules plug in through `_builders` (file name -> RuleFile for the
spec); every alert of every module must carry a runbook (rule_yaml.documented),
and docs/runbook.md is made from all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction

from prometheus_client import Counter

from services.core.slo import (
    BURN_WINDOWS,
    RATE_WINDOWS,
    BurnWindow,
    Counters,
    HandlingTime,
    Objective,
    ServiceLevel,
    Spec,
    Term,
    burn_factor,
    error_ratio_threshold,
    period_gauge,
    seconds,
)
from services.observability import processor_metrics as m
from services.observability import rules_pipeline
from services.observability.rule_yaml import Rule, RuleFile, documented, render
from services.observability.runbook import runbook_markdown

ERROR_RATIO = "opstrack:slo_sli_error:ratio_rate"  # + window: level:metric:operation
SERVICE_LEVEL = "opstrack:service_level:ratio"  # good / counted calls, + _increase<w> or _period
COUNTED = "opstrack:service_level_calls:count"  # the counted calls (the denominator), likewise


def known_counters() -> Counters:
    """The worker's counters and their label names, to check the SLO file against."""
    counters = (c for c in vars(m).values() if isinstance(c, Counter))
    # prometheus_client keeps the name without _total and has no public label list.
    return {f"{c._name}_total": frozenset(c._labelnames) for c in counters}


# Rule modules: each gives file name -> RuleFile for the spec. Another module's rules
# (services/observability/rules_pipeline.py, say) plug in by adding its builder to
# _builders; a function, so such a module may import from this one.
FileBuilder = Callable[[Spec], dict[str, RuleFile]]


def _builders() -> tuple[FileBuilder, ...]:
    return (slo_files, itsm_files, pipeline_files)


def rule_groups(spec: Spec) -> dict[str, RuleFile]:
    """File name -> its rules, from every rule module; every alert documented."""
    files: dict[str, RuleFile] = {}
    for build in _builders():
        built = build(spec)
        if set(built) & set(files):
            raise ValueError(f"two rule modules write {sorted(set(built) & set(files))}")
        files.update(built)
    for name, f in files.items():
        for group in f.groups:
            for r in group["rules"]:
                if "alert" in r and "runbook_url" not in r.get("annotations", {}):
                    raise ValueError(f"{name}: alert {r['alert']} has no runbook")
    return files


def rule_files(spec: Spec) -> dict[str, str]:
    """File name -> YAML text, for every rule file."""
    return {name: render(f) for name, f in sorted(rule_groups(spec).items())}


def runbook(spec: Spec) -> str:
    """docs/runbook.md: one section per alert of every rule file."""
    return runbook_markdown(rule_groups(spec))


def slo_files(spec: Spec) -> dict[str, RuleFile]:
    """slo-<group>.yml: burn-rate objectives and service-level targets, by their group."""
    groups: dict[str, list[Objective | ServiceLevel]] = {}
    members: list[Objective | ServiceLevel] = [*spec.objectives, *spec.service_levels]
    for o in members:
        groups.setdefault(o.group, []).append(o)
    return {
        f"slo-{g}.yml": RuleFile(
            (_slo_group(spec, g, members),),
            tuple(note(o) for o in members if isinstance(o, Objective)),
        )
        for g, members in sorted(groups.items())
    }


def itsm_files(spec: Spec) -> dict[str, RuleFile]:
    return {"itsm.yml": RuleFile((_itsm_group(spec),))}


def pipeline_files(spec: Spec) -> dict[str, RuleFile]:
    """pipeline.yml: opstrack watching itself (services/observability/rules_pipeline.py)."""
    return {"pipeline.yml": RuleFile((rules_pipeline.pipeline_group(spec.runbook_url),))}


def unreachable(o: Objective) -> list[BurnWindow]:
    """Conditions that can never fire: an error ratio cannot exceed 1 (all events bad)."""
    return [w for w in BURN_WINDOWS if error_ratio_threshold(o, w) >= 1]


def _slo_group(spec: Spec, name: str, members: list[Objective | ServiceLevel]) -> Rule:
    recordings, alerts = [], []
    for o in members:
        if isinstance(o, Objective):
            recordings += _recordings(o)
            alerts += [documented(a, spec.runbook_url, o.runbook) for a in _alerts(o)]
        else:
            recordings += service_level_recordings(o)
            alerts += service_level_alerts(o, spec.runbook_url)
    return {"name": f"opstrack-slo-{name}", "rules": recordings + alerts}


def _recordings(o: Objective) -> list[Rule]:
    labels = {"slo": o.name, "service": o.service}
    ratios = [
        {"record": f"{ERROR_RATIO}{w}", "expr": _error_ratio(o, w), "labels": labels}
        for w in (*RATE_WINDOWS, o.window)
    ]
    meta = [
        {"record": "opstrack:slo_objective:ratio", "expr": f"vector({_num(o.objective)})"},
        {
            "record": "opstrack:slo_error_budget_remaining:ratio",
            "expr": f'1 - {ERROR_RATIO}{o.window}{{slo="{o.name}"}} / {_num(o.budget)}',
        },
    ]
    return ratios + [{**r, "labels": labels} for r in meta]


def _error_ratio(o: Objective, window: str) -> str:
    """(total - good) / total; a ratio of increases, which is the ratio of the rates.

    Increase, not rate: without the division by the range an error ratio exactly at a
    threshold stays exact in floating point, so the boundary behaves as written.
    """
    inc = _increase(o.by, window)
    bad = _net([(t, t.sign) for t in o.total] + [(t, -t.sign) for t in o.good])
    total = _net([(t, t.sign) for t in o.total])
    return f"{_signed(bad, o.total[0], inc)}\n/\n{_signed(total, o.total[0], inc)}\n"


def _by(labels: tuple[str, ...], op: str = "sum") -> str:
    return f"{op} by ({', '.join(labels)})" if labels else op


def _increase(by: tuple[str, ...], window: str) -> Callable[[Term], str]:
    return lambda t: f"{_by(by)} (increase({t.selector}[{window}]))"


def _period(by: tuple[str, ...], period: str) -> Callable[[Term], str]:
    """A counter's store-derived period gauge; max, not sum: one worker exports it, and
    while the lease changes hands two may for a moment."""

    def gauge(t: Term) -> str:
        g = Term(1, period_gauge(t.metric), (("period", "=", period), *t.matchers))
        return f"{_by(by, 'max')} ({g.selector})"

    return gauge


def _signed(terms: Iterable[tuple[Term, int]], base: Term, select: Callable[[Term], str]) -> str:
    """A sum of selected terms, `base` (the total's first counter) first."""
    lines = []
    for t, n in sorted(terms, key=lambda tn: (tn[0] != base, -tn[1])):
        sign = ("+ " if n > 0 else "- ") + (f"{abs(n)} * " if abs(n) != 1 else "")
        if t == base:
            lines.append(sign + select(t))
        else:
            # A counter child exists once it has counted (answered within 20 s, say):
            # a missing one is zero, not "no data", else no ratio and no alert.
            lines += [f"{sign}(", f"    {select(t)}", f"    or 0 * {select(base)}", ")"]
    lines[0] = lines[0].removeprefix("+ ")
    return "(\n" + "".join(f"  {line}\n" for line in lines) + ")"


def _net(signed: Sequence[tuple[Term, int]]) -> list[tuple[Term, int]]:
    """Like terms added up (good's offered cancels total's), in first-seen order."""
    net: dict[Term, int] = {}
    for t, n in signed:
        key = Term(1, t.metric, t.matchers)
        net[key] = net.get(key, 0) + n
    return [(t, n) for t, n in net.items() if n]


def _alerts(o: Objective) -> list[Rule]:
    alerts = []
    for severity in ("page", "ticket"):
        windows = [w for w in BURN_WINDOWS if w.severity == severity and w not in unreachable(o)]
        if not windows:
            continue
        branches = [
            f"(\n  {_ratio(o, w.long)} > {_num(t)}\n  and\n  {_ratio(o, w.short)} > {_num(t)}\n)"
            for w in windows
            for t in [error_ratio_threshold(o, w)]
        ]
        alerts.append(
            {
                "alert": "".join(p.capitalize() for p in o.name.split("-")) + "ErrorBudgetBurn",
                "expr": "\nor\n".join(branches) + "\n",
                "labels": {"severity": severity, "service": o.service},
                "annotations": _annotations(o, severity, windows),
            }
        )
    return alerts


def _ratio(o: Objective, window: str) -> str:
    return f'{ERROR_RATIO}{window}{{slo="{o.name}"}}'


def _annotations(o: Objective, severity: str, windows: list[BurnWindow]) -> dict[str, str]:
    where = ", ".join(f"{label} {{{{ $labels.{label} }}}}" for label in o.by)
    speed = "fast" if severity == "page" else "steadily"
    conditions = " or ".join(
        f"{_num(burn_factor(o.window, w), 4)}x over {w.long} and {w.short}"
        f" (error ratio {_pct(error_ratio_threshold(o, w))})"
        for w in windows
    )
    return {
        "summary": f"{o.description}: error budget burning {speed}"
        + (f" ({where})" if where else ""),
        "description": (
            f"Objective {_pct(o.objective)} over {o.window} (error budget {_pct(o.budget)}). "
            "Error ratio {{ $value | humanizePercentage }} over the alert's long window; "
            f"it fires at a burn rate above {conditions}."
        ),
    }


def note(o: Objective) -> str:
    """What was left out because it cannot fire, so nobody waits for it; "" if nothing."""
    gone = unreachable(o)
    what = " and ".join(
        f"{w.severity} {_num(burn_factor(o.window, w), 4)}x over {w.long}"
        f" (it needs an error ratio above {_pct(error_ratio_threshold(o, w))})"
        for w in gone
    )
    return f"{o.name}: left out {what}: a ratio cannot exceed 100 %" if gone else ""


def _num(x: Fraction, digits: int | None = None) -> str:
    # repr() of the exact value rounded once: the literal Prometheus reads is that double.
    value = float(x)
    return f"{value:.{digits}g}" if digits else repr(value).removesuffix(".0")


def _pct(x: Fraction) -> str:
    return f"{float(x) * 100:.3g} %"


OPEN = "max(opstrack_servicedesk_open) == 1"  # every worker exports it: 1 in opening hours


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-"))


def service_level_recordings(sl: ServiceLevel) -> list[Rule]:
    """The service level and its counted calls over the fast window and per period.

    The periods come from the store by event time (the worker's period gauges), so a
    late or imported call counts where it belongs; the fast window from the counters,
    which is what can see the last hour.
    """
    labels = {"slo": sl.name, "service": sl.service}
    base = sl.total[0]
    good = _net([(t, t.sign) for t in sl.good])
    total = _net([(t, t.sign) for t in sl.total])

    def pair(select: Callable[[Term], str], suffix: str, extra: dict[str, str]) -> list[Rule]:
        counted = _signed(total, base, select)
        return [
            {"record": f"{COUNTED}_{suffix}", "expr": counted + "\n", "labels": labels | extra},
            {
                # No calls is no service level (absent), not 0 % or NaN.
                "record": f"{SERVICE_LEVEL}_{suffix}",
                "expr": f"{_signed(good, base, select)}\n/\n(\n{counted} > 0\n)\n",
                "labels": labels | extra,
            },
        ]

    rules = pair(_increase(sl.by, sl.fast_window), f"increase{sl.fast_window}", {})
    for period in ("today", *sl.goal_periods):
        rules += pair(_period(sl.by, period), "period", {"period": period})
    target = {"record": "opstrack:service_level_target:ratio", "expr": f"vector({_num(sl.target)})"}
    return [*rules, target | {"labels": labels}]


def service_level_alerts(sl: ServiceLevel, runbook_url: str) -> list[Rule]:
    """Below the target now (fast window), today so far, and in the goal periods so far.

    Each compares the service level with the exact target (`<`: exactly at the target is
    met) and needs enough counted calls; the first two only inside opening hours.
    """
    slo = f'slo="{sl.name}"'
    where = ", ".join(f"{label} {{{{ $labels.{label} }}}}" for label in sl.by)
    where = f" ({where})" if where else ""
    target = _num(sl.target)
    pct = _pct(sl.target)
    w = sl.fast_window
    below = _num(sl.fast_below)
    periods = "|".join(sl.goal_periods)
    alerts: list[tuple[Rule, str]] = [
        (
            {
                "alert": f"{_camel(sl.name)}FarBelowTargetNow",
                "expr": f"{SERVICE_LEVEL}_increase{w}{{{slo}}} < {below}\n"
                f"and\n{COUNTED}_increase{w}{{{slo}}} >= {sl.fast_min_calls}\n"
                f"and on ()\n{OPEN}\n",
                "labels": {"severity": sl.fast_severity},
                "annotations": {
                    "summary": f"{sl.description}: {{{{ $value | humanizePercentage }}}}"
                    f" in the last {w}, target {pct}{where}",
                    "description": f"Of the calls counted in the last {w} (at least"
                    f" {sl.fast_min_calls} to judge), {{{{ $value | humanizePercentage }}}} met"
                    f" it: below {_pct(sl.fast_below)}, far below the target of at least"
                    f" {pct}. Judged inside opening hours only.",
                },
            },
            "Get more agents onto this queue's phones now; if calls surge, look for the"
            " incident behind them and announce it in the queue's phone message.",
        ),
        (
            {
                "alert": f"{_camel(sl.name)}BelowTargetToday",
                "expr": f'{SERVICE_LEVEL}_period{{{slo}, period="today"}} < {target}\n'
                f'and\n{COUNTED}_period{{{slo}, period="today"}} >= {sl.today_min_calls}\n'
                f"and on ()\n{OPEN}\n",
                "labels": {"severity": sl.today_severity},
                "annotations": {
                    "summary": f"{sl.description}: {{{{ $value | humanizePercentage }}}}"
                    f" today, target {pct}{where}",
                    "description": "Of the calls counted today so far (by event time, from"
                    f" the store; at least {sl.today_min_calls} to judge),"
                    f" {{{{ $value | humanizePercentage }}}} met it; the target is at least"
                    f" {pct}. Judged inside opening hours only.",
                },
            },
            "Staff the rest of the day for this queue (fewer agents on tickets or in"
            " meetings, breaks staggered) so the day ends at the target.",
        ),
        (
            {
                "alert": f"{_camel(sl.name)}GoalAtRisk",
                "expr": f'{SERVICE_LEVEL}_period{{{slo}, period=~"{periods}"}} < {target}\n'
                f'and\n{COUNTED}_period{{{slo}, period=~"{periods}"}}'
                f" >= {sl.goal_min_calls}\n",
                "labels": {"severity": "ticket"},
                "annotations": {
                    "summary": f"Goal at risk: {sl.description}: {{{{ $value | humanizePercentage }}}}"
                    f" this {{{{ $labels.period }}}} so far, target {pct}{where}",
                    "description": "Of the calls counted this {{ $labels.period }} so far (by event time,"
                    f" from the store; at least {sl.goal_min_calls} to judge),"
                    f" {{{{ $value | humanizePercentage }}}} met it; the goal is at least {pct}"
                    " over the period, what the department is judged on.",
                },
            },
            "Review staffing and what drives the calls with the servicedesk lead this"
            " week: the period's figure must climb back above the target before it ends.",
        ),
    ]
    out = []
    for alert, runbook in alerts:
        labelled = alert | {"labels": alert["labels"] | {"slo": sl.name, "service": sl.service}}
        out.append(documented(labelled, runbook_url, runbook))
    return out


UNACKNOWLEDGED_AFTER = "15m"  # a severity-1 incident is acknowledged within this
FREEZE_LOOKBACK = "1h"  # a freeze violation alerts for this long after it counted
INDICATOR_FOR = "1h"  # the goal gauges are re-evaluated every minute; a flap is no news


def _itsm_group(spec: Spec) -> Rule:
    alerts = [
        (
            _unacknowledged(),
            "Acknowledge the incident in opstrack now and start the"
            " severity-1 procedure; if nobody owns it, escalate to the IT manager on duty.",
        ),
        (
            _freeze_violation(),
            "Find the change in opstrack's change log, ask its owner why"
            " it went in during the freeze, and roll it back or record an emergency exception.",
        ),
        (
            _sla_breached(),
            "Go through the open tickets of that priority past their SLA target:"
            " assign, escalate or resolve each, and tell the requesters.",
        ),
        (
            _indicator_missed(),
            "Review the indicator with its owner (`opstrack report`): plan"
            " measures, and correct a manual forecast that no longer holds.",
        ),
        (
            _deadlettered(),
            "Read the dead-letter topic for the messages and their reason, fix"
            " the producer (or the contract) and send them again.",
        ),
    ]
    if spec.handling_time is not None:
        alerts.append(
            (
                _handling_time(spec.handling_time),
                "Go through the oldest open and the"
                " slowest resolved tickets with the team leads: reassign what waits, and"
                " find what makes tickets slow (a category, a queue, a supplier).",
            )
        )
    return {
        "name": "opstrack-itsm",
        "rules": [documented(a, spec.runbook_url, runbook) for a, runbook in alerts],
    }


def _handling_time(h: HandlingTime) -> Rule:
    # Whole-servicedesk store-derived gauges: max, one worker (the lease holder) exports them.
    periods = "|".join(h.periods)
    mean = f'opstrack_period_tickets_handling_hours{{period=~"{periods}", stat="mean"}}'
    resolved = f'opstrack_period_tickets_resolved{{period=~"{periods}"}}'
    target = _num(h.target_hours)
    return {
        "alert": "TicketHandlingTimeAboveTarget",
        "expr": f"max by (period) ({mean}) > {target}\n"
        f"and\nmax by (period) ({resolved}) >= {h.min_resolved}\n",
        "labels": {"severity": "ticket"},
        "annotations": {
            "summary": "Mean ticket handling time this {{ $labels.period }}"
            f" {{{{ $value | humanize }}}} h, above the {target} h target",
            "description": "The tickets resolved this {{ $labels.period }} so far (at least"
            f" {h.min_resolved} to judge) took {{{{ $value | humanize }}}} hours on average"
            f" from opening to resolution; the goal is at most {target} h.",
        },
    }


def _unacknowledged() -> Rule:
    # Every worker exports the same store-derived gauges: aggregate away instance and job.
    oldest = 'min by (service) (opstrack_incidents_unacknowledged_oldest_opened_timestamp_seconds{severity="1"})'
    return {
        "alert": "Severity1IncidentUnacknowledged",
        "expr": f"time() - {oldest} >= {seconds(UNACKNOWLEDGED_AFTER)}",
        "labels": {"severity": "page", "incident_severity": "1"},
        "annotations": {
            "summary": "Severity-1 incident of {{ $labels.service }} unacknowledged",
            "description": "The oldest unacknowledged severity-1 incident of {{ $labels.service }}"
            " was opened {{ $value | humanizeDuration }} ago; acknowledge within "
            f"{UNACKNOWLEDGED_AFTER}.",
        },
    }


def _freeze_violation() -> Rule:
    # The gauge counts all time, recomputed from the store: it rises with each violation.
    # A service's first violation makes a new series, compared with 0 then, but only if
    # the worker was scraped back then, so a fresh Prometheus does not alert on history.
    now = "max by (service) (opstrack_change_freeze_violations)"
    before = f"max by (service) (opstrack_change_freeze_violations offset {FREEZE_LOOKBACK})"
    scraped = f"max(opstrack_freezes_active offset {FREEZE_LOOKBACK})"
    return {
        "alert": "ChangeFreezeViolation",
        "expr": f"{now}\n> (\n  {before}\n  or\n  (0 * {now} and on () {scraped})\n)\n",
        "labels": {"severity": "ticket"},
        "annotations": {
            "summary": "Change implemented during a change freeze on {{ $labels.service }}",
            "description": "A change to {{ $labels.service }} was implemented inside a change"
            " freeze without an approved emergency exception in the last "
            f"{FREEZE_LOOKBACK}; {{{{ $value }}}} in all so far.",
        },
    }


def _sla_breached() -> Rule:
    return {
        "alert": "TicketsBreachingSla",
        "expr": 'max by (priority) (opstrack_tickets_open{sla="breached"}) > 0',
        "labels": {"severity": "ticket"},
        "annotations": {
            "summary": "Open priority-{{ $labels.priority }} tickets past their SLA target",
            "description": "{{ $value }} open tickets of priority {{ $labels.priority }}"
            " are past their SLA target (config/sla.yaml).",
        },
    }


def _indicator_missed() -> Rule:
    # Judged on the current value, not on the goals file's judgement (often a manual
    # forecast): the alert's value is that judgement, 1 achieved or 0 missed, to say
    # whether they disagree; -1 when the goal table gives none (no status yet).
    current = "max by (indicator) (opstrack_indicator_current_achieved)"
    judged = "max by (indicator) (opstrack_indicator_achieved)"
    forecast = (
        "{{ if eq $value 1.0 }}achieved{{ else if eq $value 0.0 }}missed{{ else }}none{{ end }}"
    )
    return {
        "alert": "GoalIndicatorNotAchieved",
        "expr": f"(\n  {judged}\n  and on (indicator)\n  {current} == 0\n)\nor\n"
        f"(\n  ({current} == 0) - 1\n  unless on (indicator)\n  {judged}\n)\n",
        "for": INDICATOR_FOR,
        "labels": {"severity": "ticket", "forecast": forecast},
        "annotations": {
            "summary": "Goal indicator {{ $labels.indicator }} misses its target now"
            "{{ if eq $value 1.0 }}, though its forecast says it will be met"
            "{{ else if eq $value 0.0 }}, and its forecast misses it too"
            "{{ else }}; the goal table has no judgement of it yet{{ end }}",
            "description": "The current value of {{ $labels.indicator }} misses its target"
            " in the goal table; the label forecast says whether the goal table's own"
            " judgement (a manual forecast unless config/goals.yaml says judge_on: current)"
            " expects it met by the year's end (achieved, missed, or none). See"
            " `opstrack report`.",
        },
    }


DEADLETTER_WINDOW = "15m"  # a dead letter tickets for this long


def _deadlettered() -> Rule:
    # The worker exports every (topic, reason) series from 0, so the first one counts.
    return {
        "alert": "MessagesDeadLettered",
        "expr": "sum by (topic, reason) "
        f"(increase(opstrack_processor_deadlettered_total[{DEADLETTER_WINDOW}])) > 0",
        "labels": {"severity": "ticket"},
        "annotations": {
            "summary": "Messages on {{ $labels.topic }} dead-lettered ({{ $labels.reason }})",
            "description": "About {{ $value | humanize }} dead letters from {{ $labels.topic }}"
            f" in the last {DEADLETTER_WINDOW}, reason {{{{ $labels.reason }}}}: a producer"
            " sends what the contract refuses; the dead-letter topic holds each message and why.",
        },
    }
