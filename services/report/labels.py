"""The report's fixed words in Swedish and English: titles, headings, column headers.

One table for every format that shows words (Markdown, HTML, XLSX), so they name things alike;
`render` also checks a language against it.
"""

from __future__ import annotations

from typing import Any

LABELS: dict[str, dict[str, Any]] = {
    "sv": {
        "title": "Måluppfyllelse {label}",
        "period": "Period {start} \u2013 {end}",
        "generated": "sammanställd {at}",
        "goal_headers": [
            "Kommunfullmäktiges mål",
            "Nämndmål",
            "Indikator",
            "Nuvärde",
            "Prognos",
            "Målvärde",
            "Status",
        ],
        "judged_note": {
            "forecast": "(prognos): status bedömd på prognosen för periodens sista dag, "
            "inte på nuvärdet; ett mål kan vara uppnått fast nuvärdet ännu inte når målvärdet.",
            "current": "(nuvärde): status bedömd på nuvärdet, värdet hittills under perioden.",
        },
        "staffing": "Bemanning{which}: målet kräver i snitt {needed} agenttimmar i veckan "
        "(Erlang C); perioden hade {talk} timmar samtalstid i veckan.",
        "trend": "Månad för månad",
        "trend_note": "Indikatorer ur driftdata: varje månads eget värde (månaden för sig, "
        "inte perioden hittills).",
        "board_status": "Status per nämndmål",
        "board_headers": ["Kommunfullmäktiges mål", "Nämndmål", "Status"],
        "summary": "Sammanfattning av perioden",
        "incidents": "Större incidenter",
        "incident_headers": [
            "Incident",
            "Tjänst",
            "Rubrik",
            "Allvarlighetsgrad",
            "Öppnad",
            "Löst",
            "Varaktighet",
            "Påverkade e-tjänster",
        ],
        "no_incidents": "Inga större incidenter under perioden.",
        "incident_count": "{n} större {noun} under perioden, sammanlagt {total}.",
        "incident_noun": ("incident", "incidenter"),
        "ongoing": " {n} pågår fortfarande.",
        "freezes": "Förändringsstopp",
        "freeze_headers": ["Förändringsstopp", "Från", "Till", "Omfattning", "Anledning"],
        "no_freezes": "Inga förändringsstopp under perioden.",
        "violations": "Ändringar under förändringsstopp",
        "violation_headers": ["Ändring", "Tjänst", "Genomförd", "Förändringsstopp"],
        "no_violations": "Ingen ändring bröt mot ett förändringsstopp.",
        "sheets": ("Mål", "Incidenter", "Förändringsstopp", "Överträdelser"),
        "minutes_header": "Varaktighet (min)",
    },
    "en": {
        "title": "Goal attainment {label}",
        "period": "Period {start} \u2013 {end}",
        "generated": "generated {at}",
        "goal_headers": [
            "Council goal",
            "Board goal",
            "Indicator",
            "Current",
            "Forecast",
            "Target",
            "Status",
        ],
        "judged_note": {
            "forecast": "(forecast): status judged on the forecast for the period's last day, "
            "not on the current value; a goal can be achieved while the current value "
            "does not yet meet its target.",
            "current": "(current): status judged on the current value, the value so far "
            "in the period.",
        },
        "staffing": "Staffing{which}: the target needs on average {needed} agent-hours a week "
        "(Erlang C); the period had {talk} hours of talk time a week.",
        "trend": "Month by month",
        "trend_note": "Indicators from operational data: each month's own value (that month "
        "alone, not the period so far).",
        "board_status": "Status per board goal",
        "board_headers": ["Council goal", "Board goal", "Status"],
        "summary": "Summary of the period",
        "incidents": "Major incidents",
        "incident_headers": [
            "Incident",
            "Service",
            "Title",
            "Severity",
            "Opened",
            "Resolved",
            "Duration",
            "Affected e-services",
        ],
        "no_incidents": "No major incidents in the period.",
        "incident_count": "{n} major {noun} in the period, {total} in all.",
        "incident_noun": ("incident", "incidents"),
        "ongoing": " {n} still ongoing.",
        "freezes": "Change freezes",
        "freeze_headers": ["Freeze", "From", "To", "Scope", "Reason"],
        "no_freezes": "No change freezes in the period.",
        "violations": "Changes during a change freeze",
        "violation_headers": ["Change", "Service", "Implemented", "Freeze"],
        "no_violations": "No change broke a change freeze.",
        "sheets": ("Goals", "Incidents", "Freezes", "Violations"),
        "minutes_header": "Duration (min)",
    },
}
