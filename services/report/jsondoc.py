"""The report as JSON: raw numbers (percent as fractions) and ISO times, to compute on."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.core.periods import rfc3339
from services.readmodel.goal_model import ReportInput
from services.report import fmt as show
from services.report.blocks import staffing_line, title
from services.report.rows import board_rows, indicator_rows


def _iso(t: datetime | None) -> str | None:
    if t is None:
        return None
    # A naive time is already local (fmt.local); an aware one gets a whole-minute offset.
    return t.isoformat() if t.tzinfo is None else rfc3339(t)


def _staffing(report: ReportInput, indicator_id: str, lang: str) -> dict[str, Any] | None:
    found = report.staffing.get(indicator_id)
    if found is None:
        return None
    return {
        "needed_agent_hours_per_week": found.needed_hours,
        "talk_hours_per_week": found.talk_hours,
        "text": staffing_line(report, indicator_id, lang),
    }


def render_json(report: ReportInput, lang: str) -> bytes:
    ev = report.evaluation
    s = report.summary
    body = {
        "lang": lang,
        "period": {
            "label": report.period_label,
            "from": report.period_from.isoformat(),
            "to": report.period_to.isoformat(),
        },
        "generated_at": _iso(report.generated_at),
        "area": None if report.area is None else report.area.get(lang),
        "title": title(report, lang),
        "judged_on": report.judged_on,
        "status": ev.status,
        "counts": dict(ev.counts),
        "rollup": show.rollup_sentence(ev, lang),
        "rows": [
            {
                "council_goal": r.council.goal.title.get(lang),
                "board_goal": r.board.goal.title.get(lang),
                "indicator_id": r.result.indicator.id,
                "indicator": r.result.indicator.title.get(lang),
                "unit": r.result.indicator.unit,
                "decimals": r.result.indicator.decimals,
                "current": r.result.current,
                "forecast": r.result.forecast,
                "target": {
                    "rule": r.result.indicator.target.rule,
                    "value": r.result.indicator.target.value,
                },
                "status": r.result.status,
                # Each month's own value, for a stream-fed indicator over several months.
                "months": [
                    {"month": m.strftime("%Y-%m"), "value": v}
                    for m, v in report.trends.get(r.result.indicator.id, [])
                ],
                # A service-level indicator's staffing: None without calls or talk time.
                "staffing": _staffing(report, r.result.indicator.id, lang),
            }
            for r in indicator_rows(report)
        ],
        "board_goals": [
            {
                "council_goal": c.goal.title.get(lang),
                "board_goal": b.goal.title.get(lang),
                "status": b.status,
            }
            for c, b in board_rows(report)
        ],
        "council_goals": [
            {"council_goal": c.goal.title.get(lang), "status": c.status} for c in ev.council_goals
        ],
        "summary": {
            "major_incidents": [
                {
                    "incident_id": i.incident_id,
                    "service": i.service,
                    "title": i.title,
                    "severity": i.severity,
                    "opened_at": _iso(i.opened_at),
                    "resolved_at": _iso(i.resolved_at),
                    "duration_minutes": i.duration_minutes,
                    "affected": list(i.affected),
                }
                for i in s.major_incidents
            ],
            "freezes": [
                {
                    "freeze_id": f.freeze_id,
                    "starts_at": _iso(f.starts_at),
                    "effective_end": _iso(f.effective_end),
                    "scope": list(f.scope),
                    "reason": f.reason,
                }
                for f in s.freezes
            ],
            "violations": [
                {
                    "change_id": v.change_id,
                    "service": v.service,
                    "implemented_at": _iso(v.implemented_at),
                    "freeze_id": v.freeze_id,
                }
                for v in s.violations
            ],
        },
    }
    # allow_nan=False: a NaN would be invalid JSON, and a bug upstream rather than a value.
    return (json.dumps(body, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode()
