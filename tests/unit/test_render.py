"""The CLI's tables at 80 columns: no line longer, no value cut, wrapped or ellipsised."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rich.console import Console, RenderableType

from services.render import calls_table, rows_table, show, tokens_table

PERIOD = {
    "label": "2022-05-02..2022-05-03",
    "from": "2022-05-02T00:00:00+02:00",
    "to": "2022-05-04T00:00:00+02:00",
}
QUEUES = [("gemensam", "shared"), ("hallsberg", "Hallsberg"), ("askersund", "Askersund")]


def call_row(n: int, **keys: str) -> dict[str, Any]:
    return keys | {
        "offered": 12_345 + n,
        "answered": 9_876,
        "abandoned": 1_234,
        "short_abandoned": 345,
        "exited": 120,
        "answered_within": {"20": 7_700, "60": 9_100},
        "service_level": {"20": 0.777, "60": 1.0 if n == 0 else 0.9123},
        "abandon_rate": 0.0812,
        "asa_seconds": 134.25,
        "avg_wait_seconds": 1_031.5,
        "aht_seconds": 245.5,
    }


def calls_body(group_by: str) -> dict[str, Any]:
    rows = []
    for n, (queue, municipality) in enumerate(QUEUES):
        keys = {"queue": queue, "municipality": municipality}
        if "day" in group_by:
            keys["bucket_start"] = "2022-05-02T00:00:00+02:00"
        wanted = group_by.replace("day", "bucket_start").split(",")
        rows.append(call_row(n, **{k: v for k, v in keys.items() if k in wanted}))
    return {"period": PERIOD, "rows": rows}


def summary(mean: float) -> dict[str, float | None]:
    return {"mean": mean, "median": mean - 1.5, "p90": None}


TICKETS = {
    "period": PERIOD,
    "rows": [
        {
            "category": "Behörighet och konton",
            "priority": 3,
            "municipality": "Askersund",
            "created": 1_234,
            "resolved": 1_200,
            "handling_time_hours": summary(24.45),
            "business_handling_time_hours": summary(8.12),
        },
    ],
}
INCIDENTS = {
    "period": PERIOD,
    "rows": [
        {
            "service": "ekonomiskt-bistand-e-tjanst",
            "opened": 12,
            "resolved": 11,
            "mtta_minutes": 12.5,
            "mttr_minutes": 187.25,
            "downtime_minutes": 1_530.5,
            "own_downtime_minutes": 30.0,
            "inherited_downtime_minutes": 1_500.5,
            "downtime_via": ["natverk", "processmotor"],
            "availability": 0.99912,
        },
        {
            "service": "natverk",
            "opened": 3,
            "resolved": 3,
            "mtta_minutes": None,
            "mttr_minutes": 300.0,
            "downtime_minutes": 1_200.0,
            "own_downtime_minutes": 1_200.0,
            "inherited_downtime_minutes": 0.0,
            "downtime_via": [],
            "availability": 1.0,
        },
    ],
}
CHANGES = {
    "period": PERIOD,
    "rows": [
        {
            "service": "natverk",
            "implemented": 21,
            "violations": 2,
            "emergency_exceptions": 1,
            "incidents_during_freeze": 4,
            "incidents_from_planned_work": 3,
        }
    ],
}


def cases() -> list[tuple[str, RenderableType, RenderableType, list[str]]]:
    """(name, table at 80, forced wide, the values that must appear whole)."""
    out = []
    for group_by in ("", "queue", "municipality", "queue,day", "queue,municipality,day"):
        body = calls_body(group_by)
        values = [
            *[q for q, _ in QUEUES if "queue" in group_by],
            "12345",
            # Whole numbers; the unit may stand in the short header instead (%, s).
            "77.7",
            "100.0",
            "91.2",
            "134.2",
            "1031.5",
        ]
        if "day" in group_by:
            values.append("2022-05-02 00:00+0200")
        out.append(
            (
                f"calls by {group_by or 'nothing'}",
                calls_table(body, 80),
                calls_table(body, 80, wide=True),
                values,
            )
        )
    for title, body, percent, values in (
        ("Tickets", TICKETS, (), ["Behörighet och konton", "Askersund", "24.45", "22.95", "1234"]),
        (
            "Incidents",
            INCIDENTS,
            ("availability",),
            [
                "ekonomiskt-bistand-e-tjanst",
                "natverk, processmotor",
                "99.912 %",
                "100.000 %",
                "1530.50",
            ],
        ),
        ("Changes", CHANGES, (), ["natverk", "21"]),
    ):
        out.append(
            (
                title,
                rows_table(title, body, percent, 80),
                rows_table(title, body, percent, 80, wide=True),
                values,
            )
        )
    tokens = [
        [
            "tok_1f3a9b20",
            "asterisk",
            "call.*",
            "asterisk,asterisk/*",
            "default",
            "2026-11-28 12:40",
            "2026-11-28 12:41",
        ],
        [
            "tok_3c1d0e55",
            "csv",
            "call.*,ticket.*",
            "/import/pbx",
            "50/s",
            "2026-11-28 12:40",
            "never",
        ],
    ]
    out.append(
        (
            "tokens",
            tokens_table(tokens, 80),
            tokens_table(tokens, 80, wide=True),
            [cell for row in tokens for cell in row],
        )
    )
    return out


def render(table: RenderableType, width: int = 80, wide: bool = False) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    show(console, table, wide)
    console.file.close()
    return console.export_text()


@pytest.mark.parametrize(
    ("name", "table", "wide", "values"), cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_table_fits_80_columns_with_every_value_whole(
    name: str, table: RenderableType, wide: RenderableType, values: list[str]
) -> None:
    text = render(table)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, f"{name}:\n{text}"
    assert "…" not in text, f"{name}:\n{text}"
    for value in values:
        assert any(value in line for line in lines), f"{name}: {value!r} not whole in\n{text}"


@pytest.mark.parametrize(
    ("name", "table", "wide", "values"), cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_wide_prints_the_full_table_past_the_width(
    name: str, table: RenderableType, wide: RenderableType, values: list[str]
) -> None:
    text = render(wide, wide=True)
    assert "…" not in text
    header = next(line for line in text.splitlines() if re.search(r"┃", line))
    assert "┃" in header  # the full table: boxed, with the long headers
    for value in values:
        assert value in text, f"{name}: {value!r} missing"


def test_a_narrow_table_keeps_the_full_layout() -> None:
    body = {"period": PERIOD, "rows": [{"service": "natverk", "implemented": 2, "violations": 0}]}
    text = render(rows_table("Changes", body, width=80))
    assert "implemented" in text and "violations" in text  # no short headers needed
