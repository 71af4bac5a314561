"""History by event time: time series read from the store with SQL, not from Prometheus.

The Prometheus panels count events when the worker processes them, so a month imported
today lands as a spike "now". These panels read the store's tables on Grafana's
PostgreSQL data source (uid `opstrack-postgres`, provisioned by the production stack:
deploy/grafana/provisioning/datasources/postgres.yml) and place every figure at the time
it happened: calls at the hour they entered the queue, tickets at their resolution,
incidents at their opening.

Each dashboard gets them in one collapsed row (`history_row`): Grafana runs a collapsed
row's queries only when it is opened, so a Grafana without that data source (the
embedded default, which has Prometheus only) shows the row's title and nothing failing.

How the SQL is written, and why:
- Time filters are Grafana's macros, expanded by its PostgreSQL data source
  (pkg/tsdb/grafana-postgresql-datasource/macros.go, and $__unixEpochFrom()/To() in
  sqleng). The store keeps times as integers (call_buckets.hour in epoch seconds, the
  entity tables in epoch microseconds), so the unix-epoch macros compare the columns
  themselves (an index range), and a macro's argument is a bare column: the macro
  parser stops at the first ")", so `$__timeFilter(to_timestamp(hour))` cannot be used.
- Hours are `$__unixEpochGroupAlias(hour, 1h)`, days are Europe/Stockholm days
  (`date_trunc(..., 'Europe/Stockholm')`): the periods opstrack reports are Stockholm's,
  and `$__timeGroup(.., 1d)` would cut days at UTC midnight.
- $queue and $municipality are the servicedesk dashboard's multi-value variables with
  "All" = `.*` (a custom all value, which Grafana inserts as it is, unquoted). They are
  written `${queue:regex}` inside `~ '^…$'`: Grafana regex-escapes each value and joins
  several as `(a|b)`, and `.*` then matches every queue, also one new since the variable
  was last refreshed. A name with a single quote in it cannot be selected this way (the
  regex format does not escape quotes); opstrack's queue and municipality names have none.
- Ratios divide by NULLIF(…, 0): a day with no counted calls has no service level
  (no point drawn), never 0 %.
"""

# The SQL below is text for Grafana, built from this module's constants only; opstrack
# never runs it, and Grafana substitutes the dashboard variables (see above).
# ruff: noqa: S608

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import text, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from services.core.periods import STOCKHOLM
from services.observability.dashboard_parts import markdown, series

POSTGRES_UID = "opstrack-postgres"
# The plugin id since Grafana 10.3 (its plugin.json keeps "postgres" as an alias).
POSTGRES_TYPE = "grafana-postgresql-datasource"
POSTGRES = dm.DataSourceRef(type_val=POSTGRES_TYPE, uid=POSTGRES_UID)
ROW_TITLE = "History by event time (PostgreSQL)"
TIMEZONE = STOCKHOLM.key  # the reporting periods' zone
PCT = "percentunit"


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL target of Grafana's SQL data sources (the SDK has no builder for it)."""

    def __init__(self, sql: str, ref_id: str) -> None:
        self.sql = sql
        self.ref_id = ref_id

    def to_json(self) -> dict[str, object]:
        return {
            "datasource": {"type": POSTGRES_TYPE, "uid": POSTGRES_UID},
            "editorMode": "code",  # the query editor shows the SQL as written, not a builder
            # Rows of (time, [metric,] values…) in time order, made into series.
            "format": "time_series",
            "rawQuery": True,
            "rawSql": self.sql,
            "refId": self.ref_id,
        }


class Sql(cogbuilder.Builder[cogvariants.Dataquery]):
    def __init__(self, sql: str, *, ref: str = "A") -> None:
        self._query = SqlQuery(sql, ref)

    def build(self) -> cogvariants.Dataquery:
        return self._query


def _day(epoch_seconds: str) -> str:
    """The Stockholm day (as a timestamptz at its local midnight) of an epoch-seconds value."""
    return f"date_trunc('day', to_timestamp({epoch_seconds}), '{TIMEZONE}')"


def _micros_between(column: str) -> str:
    """The dashboard's time range on an epoch-microseconds column (no macro takes µs).

    The seconds Grafana writes are integer literals: times 10^6 they overflow integer
    unless cast to bigint first.
    """
    return (
        f"{column} BETWEEN $__unixEpochFrom()::bigint * 1000000"
        " AND $__unixEpochTo()::bigint * 1000000"
    )


CALLS_WHERE = (
    "$__unixEpochFilter(hour)"
    " AND queue ~ '^${queue:regex}$'"
    " AND municipality ~ '^${municipality:regex}$'"
)
CALL_DAY = _day("hour")

OFFERED_PER_HOUR = f"""\
SELECT $__unixEpochGroupAlias(hour, 1h), queue AS metric, sum(offered) AS offered
FROM call_buckets
WHERE {CALLS_WHERE}
GROUP BY 1, 2
ORDER BY 1, 2"""

# Calls answered within 20 and 60 s / (offered - short abandoned), per Stockholm day. The
# thresholds' rows are written only when some call was answered within them, so a
# missing row is 0 answered, while the denominator comes from the buckets.
SERVICE_LEVEL_PER_DAY = f"""\
WITH counted AS (
  SELECT {CALL_DAY} AS day, sum(offered - short_abandoned) AS calls
  FROM call_buckets
  WHERE {CALLS_WHERE}
  GROUP BY 1
), within AS (
  SELECT {CALL_DAY} AS day,
         sum(answered) FILTER (WHERE threshold_s = 20) AS s20,
         sum(answered) FILTER (WHERE threshold_s = 60) AS s60
  FROM call_buckets_within
  WHERE {CALLS_WHERE}
  GROUP BY 1
)
SELECT counted.day AS "time",
       coalesce(within.s20, 0)::float8 / NULLIF(counted.calls, 0) AS "within 20 s",
       coalesce(within.s60, 0)::float8 / NULLIF(counted.calls, 0) AS "within 60 s"
FROM counted LEFT JOIN within ON within.day = counted.day
ORDER BY 1"""

ABANDON_RATE_PER_DAY = f"""\
SELECT {CALL_DAY} AS "time",
       sum(abandoned - short_abandoned)::float8
         / NULLIF(sum(offered - short_abandoned), 0) AS "abandoned (short abandons left out)"
FROM call_buckets
WHERE {CALLS_WHERE}
GROUP BY 1
ORDER BY 1"""

ASA_PER_DAY = f"""\
SELECT {CALL_DAY} AS "time",
       sum(wait_answered_ms)::float8 / 1000 / NULLIF(sum(answered), 0) AS "ASA"
FROM call_buckets
WHERE {CALLS_WHERE}
GROUP BY 1
ORDER BY 1"""

TICKET_DAY = _day("resolved_at_us / 1000000.0")

TICKETS_RESOLVED_PER_DAY = f"""\
SELECT {TICKET_DAY} AS "time", count(*) AS resolved
FROM tickets
WHERE {_micros_between("resolved_at_us")}
GROUP BY 1
ORDER BY 1"""

# A ticket counts on the day of its final resolution, as GET /v1/sli/tickets groups it;
# p90 interpolates between ranks (percentile_cont), as services/core/stats.py does.
HANDLING_PER_DAY = f"""\
SELECT {TICKET_DAY} AS "time",
       avg(handling_hours) AS "mean",
       percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_hours) AS "p90"
FROM tickets
WHERE {_micros_between("resolved_at_us")} AND handling_hours IS NOT NULL
GROUP BY 1
ORDER BY 1"""

INCIDENTS_OPENED_PER_DAY = f"""\
SELECT {_day("opened_at_us / 1000000.0")} AS "time", service AS metric, count(*) AS opened
FROM incidents
WHERE {_micros_between("opened_at_us")}
GROUP BY 1, 2
ORDER BY 1, 2"""

# A service's own outages (`incidents.outages`: [[start_us, end_us or null], …]) merged
# with range_agg, so two incidents down at once count once, and cut into Stockholm days
# within the time range (the first and last day count only their part in the range, as
# the call panels' days do);
# an outage still open runs to now (or is empty if it starts later: a clock ahead of the
# database's must not make tstzrange fail). A dependency's outage is not in the store
# (the catalog is configuration): GET /v1/sli/incidents gives the total with dependencies.
DOWNTIME_PER_DAY = f"""\
WITH outage AS (
  SELECT service, range_agg(tstzrange(starts, coalesce(ends, greatest(starts, now())))) AS down
  FROM (
    SELECT service,
           to_timestamp((o ->> 0)::bigint / 1000000.0) AS starts,
           to_timestamp((o ->> 1)::bigint / 1000000.0) AS ends
    FROM incidents, jsonb_array_elements(outages::jsonb) AS o
  ) AS stored
  GROUP BY service
), day AS (
  SELECT d::timestamp AT TIME ZONE '{TIMEZONE}' AS starts,
         (d + interval '1 day')::timestamp AT TIME ZONE '{TIMEZONE}' AS ends
  FROM generate_series(
    ($__timeFrom()::timestamptz AT TIME ZONE '{TIMEZONE}')::date,
    ($__timeTo()::timestamptz AT TIME ZONE '{TIMEZONE}')::date,
    interval '1 day'
  ) AS d
)
SELECT day.starts AS "time", outage.service AS metric,
       (SELECT coalesce(sum(extract(epoch FROM upper(r) - lower(r))), 0)::float8
        FROM unnest(outage.down * tstzmultirange(tstzrange(
          greatest(day.starts, $__timeFrom()::timestamptz),
          least(day.ends, $__timeTo()::timestamptz)
        ))) AS r
       ) AS downtime
FROM day CROSS JOIN outage
WHERE outage.down && tstzrange($__timeFrom()::timestamptz, $__timeTo()::timestamptz)
  AND day.starts < $__timeTo()::timestamptz
ORDER BY 1, 2"""


def _note(what: str) -> text.Panel:
    return markdown(
        "By event time",
        f"{what} from the store (PostgreSQL), at the time each event happened: an "
        "imported or replayed month draws where it belongs, not as a spike at import. "
        "Days are Europe/Stockholm days. Needs the `opstrack-postgres` data source of the "
        "production stack (docs/production.md).",
        height=3,
    )


def _sql_series(
    title: str,
    *queries: Sql,
    unit: str = "short",
    description: str = "",
    target: float | None = None,
    bars: bool = False,
) -> timeseries.Panel:
    # The shared time series look, then this data source and its SQL in place of
    # Prometheus (series() is written for PromQL queries).
    panel = series(title, unit=unit, description=description, target=target)
    panel = panel.datasource(POSTGRES).targets(list(queries))
    if bars:
        # Counts per hour or day: a bar per bucket, no line drawn across empty nights.
        panel = panel.draw_style(cm.GraphDrawStyle.BARS).fill_opacity(60)
    else:
        panel = panel.show_points(cm.VisibilityMode.ALWAYS)
    return panel


def servicedesk_history_panels(target: float) -> list[cogbuilder.Builder[dm.Panel]]:
    """The service desk's; `target` is the service-level target drawn as a dashed line."""
    return [
        _note("Calls offered, service level, abandon rate and speed of answer"),
        _sql_series(
            "Calls offered per hour by queue, by event time",
            Sql(OFFERED_PER_HOUR),
            description="Calls by the hour they entered the queue.",
            bars=True,
        ),
        _sql_series(
            "Service level per day, by event time",
            Sql(SERVICE_LEVEL_PER_DAY),
            unit=PCT,
            description="Answered within 20 and 60 s / (offered - short abandoned), per day; "
            "the dashed line is the target.",
            target=target,
        )
        .min(0)
        .max(1),
        _sql_series(
            "Abandon rate per day, by event time",
            Sql(ABANDON_RATE_PER_DAY),
            unit=PCT,
            description="(abandoned - short abandoned) / (offered - short abandoned), per day.",
        ).min(0),
        _sql_series(
            "Average speed of answer per day, by event time",
            Sql(ASA_PER_DAY),
            unit="s",
            description="Mean wait of the calls answered, per day.",
        ),
    ]


def ticket_history_panels() -> list[cogbuilder.Builder[dm.Panel]]:
    return [
        _note("Tickets resolved and their handling time"),
        _sql_series(
            "Tickets resolved per day, by event time",
            Sql(TICKETS_RESOLVED_PER_DAY),
            description="Tickets by the day of their final resolution.",
            bars=True,
        ),
        _sql_series(
            "Handling time per day, by event time",
            Sql(HANDLING_PER_DAY),
            unit="h",
            description="Mean and p90 handling hours (calendar hours less pauses) of the "
            "tickets resolved that day.",
        ),
    ]


def incident_history_panels() -> list[cogbuilder.Builder[dm.Panel]]:
    return [
        _note("Incidents opened and downtime"),
        _sql_series(
            "Incidents opened per day by service, by event time",
            Sql(INCIDENTS_OPENED_PER_DAY),
            bars=True,
        ),
        _sql_series(
            "Downtime per day by service, by event time",
            Sql(DOWNTIME_PER_DAY),
            unit="s",
            description="A service's own outages, merged, per day; a dependency's outage is "
            "not included (GET /v1/sli/incidents gives that total).",
            bars=True,
        ),
    ]


def history_row(panels: list[cogbuilder.Builder[dm.Panel]]) -> db.Row:
    """The panels in one collapsed row, to append at the end of a dashboard."""
    row = db.Row(ROW_TITLE)
    for panel in panels:
        row = row.with_panel(panel)
    return row.collapsed(True)
