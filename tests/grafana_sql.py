"""What Grafana sends to PostgreSQL for a panel's SQL: variables, then macros.

A small reference of Grafana's own code, written from its source (grafana/grafana):

1. In the browser, the template service replaces the dashboard variables
   (public/app/features/templating/template_srv.ts, `replace`, with the SQL data source's
   `interpolateVariable` as the default format: packages/grafana-sql/src/datasource/
   SqlDatasource.ts). A value of a multi-value or include-All variable is quoted as a SQL
   literal, several are joined by commas; "All" with a custom all value is that value,
   inserted as it is, unformatted (unless the format is text or percentencode). The
   `regex` format escapes each value (packages/grafana-data/src/text/string.ts,
   `escapeRegex`) and joins several as `(a|b)`; one value alone is not wrapped.
2. In the server, sqleng's `Interpolate` (pkg/tsdb/grafana-postgresql-datasource/sqleng/
   sql_engine.go) replaces $__interval_ms, $__interval, $__unixEpochFrom() and
   $__unixEpochTo().
3. Then the PostgreSQL macro engine (pkg/tsdb/grafana-postgresql-datasource/macros.go)
   expands `$__name(args)`: the arguments are what lies between "(" and the first ")",
   split on commas and trimmed of spaces. (Versions after 11 first strip SQL comments;
   opstrack's panels have none, which test_history_sql.py checks.)

Only what opstrack's panels can meet is implemented; anything else raises, so a panel
using something this reference does not know fails its test rather than passing untested.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

# template_srv.ts: `$name`, `[[name:format]]` and `${name.fieldPath:format}`.
VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}", re.ASCII
)
# macros.go: rsIdentifier = `([_a-zA-Z0-9]+)`, sExpr = `\$` + rsIdentifier + `\(([^\)]*)\)`.
MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
# string.ts escapeRegex: /[\\^$*+?.()|[\]{}\/]/g → "\\$&".
REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
ALL = "$__all"  # the value Grafana stores when "All" is selected


@dataclass(frozen=True)
class Variable:
    """A dashboard variable as the panel sees it: the values picked, or ALL."""

    value: Sequence[str] | str
    multi: bool = True
    include_all: bool = True
    all_value: str | None = None


def quote_literal(value: str) -> str:
    # SqlQueryModel.quoteLiteral (PostgreSQL): '…' with ' doubled.
    return "'" + value.replace("'", "''") + "'"


def sql_default(value: Sequence[str] | str, variable: Variable) -> str:
    """SqlDatasource.interpolateVariable: the format when the SQL names none."""
    if isinstance(value, str):
        if variable.multi or variable.include_all:
            return quote_literal(value)
        return value.replace("'", "''")
    return ",".join(quote_literal(v) for v in value)


def regex_format(value: Sequence[str] | str) -> str:
    def escape(v: str) -> str:
        return REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), v)

    if isinstance(value, str):
        return escape(value)
    escaped = [escape(v) for v in value]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


FORMATS: dict[str, Callable[[Sequence[str] | str], str]] = {"regex": regex_format}


def replace_variables(sql: str, variables: dict[str, Variable]) -> str:
    """template_srv.ts `replace`; names that are not dashboard variables stay as they are."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if match.group(5):
            raise NotImplementedError(f"field path in {match.group(0)!r}")
        variable = variables.get(name)
        if variable is None:
            return match.group(0)  # a macro such as $__unixEpochFilter: the server's
        value = variable.value
        if value == ALL or (not isinstance(value, str) and list(value)[:1] == [ALL]):
            if variable.all_value is None:
                raise NotImplementedError("All without a custom all value")
            if fmt not in ("text", "percentencode"):
                # "skip formatting of custom all values": inserted as it is.
                return replace_variables(variable.all_value, variables)
        if fmt is None:
            return sql_default(value, variable)
        if fmt not in FORMATS:
            raise NotImplementedError(f"format {fmt!r} in {match.group(0)!r}")
        return FORMATS[fmt](value)

    return VARIABLE.sub(one, sql)


def rfc3339_nano(t: datetime) -> str:
    """Go's time.RFC3339Nano of t.UTC(): no trailing zeros in the fraction, "Z" for UTC."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += "." + f"{t.microsecond:06d}".rstrip("0")
    return text + "Z"


def unix(t: datetime) -> int:
    """Go's Time.Unix(): whole seconds, rounded down."""
    return int(t.timestamp() // 1)


def unix_nano(t: datetime) -> int:
    delta = t.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


INTERVAL = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def interval_seconds(text: str) -> float:
    """gtime.ParseInterval for the units opstrack uses (d and w are 24 h and 7 d)."""
    m = INTERVAL.match(text.strip("'"))
    if m is None:
        raise ValueError(f"error parsing interval {text}")
    return float(int(m.group(1)) * UNIT_SECONDS[m.group(2)])


def go_number(x: float) -> str:
    """fmt's %v of a float64: 3600 prints as "3600", 0.5 as "0.5"."""
    return str(int(x)) if x.is_integer() and abs(x) < 1e21 else repr(x)


def check_fill(args: list[str]) -> None:
    # sqleng.SetupFillmode: the fill changes the frames Grafana returns, not the SQL.
    if len(args) == 3 and args[2] not in ("NULL", "previous"):
        float(args[2])


def macro(name: str, args: list[str], start: datetime, end: datetime) -> str:
    """postgresMacroEngine.evaluateMacro (TimescaleDB off)."""
    if name in ("__time", "__timeEpoch", "__timeFilter", "__unixEpochFilter") and not args:
        raise ValueError(f"missing time column argument for macro {name}")
    if name == "__time":
        return f'{args[0]} AS "time"'
    if name == "__timeEpoch":
        return f'extract(epoch from {args[0]}) as "time"'
    if name == "__timeFilter":
        return f"{args[0]} BETWEEN '{rfc3339_nano(start)}' AND '{rfc3339_nano(end)}'"
    if name == "__timeFrom":
        return f"'{rfc3339_nano(start)}'"
    if name == "__timeTo":
        return f"'{rfc3339_nano(end)}'"
    if name in ("__timeGroup", "__timeGroupAlias", "__unixEpochGroup", "__unixEpochGroupAlias"):
        if len(args) < 2:
            raise ValueError(f"macro {name} needs time column and interval and optional fill")
        check_fill(args)
        n = go_number(interval_seconds(args[1]))
        group = (
            f"floor(extract(epoch from {args[0]})/{n})*{n}"
            if name.startswith("__timeGroup")
            else f"floor(({args[0]})/{n})*{n}"
        )
        return group + ' AS "time"' if name.endswith("Alias") else group
    if name == "__unixEpochFilter":
        return f"{args[0]} >= {unix(start)} AND {args[0]} <= {unix(end)}"
    if name == "__unixEpochNanoFilter":
        return f"{args[0]} >= {unix_nano(start)} AND {args[0]} <= {unix_nano(end)}"
    if name == "__unixEpochNanoFrom":
        return str(unix_nano(start))
    if name == "__unixEpochNanoTo":
        return str(unix_nano(end))
    raise ValueError(f"unknown macro {name!r}")


def expand_macros(sql: str, start: datetime, end: datetime) -> str:
    """sqleng's Interpolate, then the PostgreSQL macro engine's."""
    if "$__interval" in sql:
        raise NotImplementedError("$__interval depends on the panel's width; not used")
    sql = sql.replace("$__unixEpochFrom()", str(unix(start)))
    sql = sql.replace("$__unixEpochTo()", str(unix(end)))
    original = sql

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        # "$__timeGroup(...)," is the pre-5.3 spelling of $__timeGroupAlias; Grafana looks
        # at the character after the first occurrence of the same text.
        if name == "__timeGroup":
            at = original.find(match.group(0))
            after = at + len(match.group(0))
            if at >= 0 and after < len(original) and original[after] == ",":
                name = "__timeGroupAlias"
        args = [a.strip(" ") for a in match.group(2).split(",")]
        return macro(name, args, start, end)

    return MACRO.sub(one, sql)


def grafana_sql(sql: str, variables: dict[str, Variable], start: datetime, end: datetime) -> str:
    """The SQL PostgreSQL receives for a panel's `rawSql` over the range start..end."""
    return expand_macros(replace_variables(sql, variables), start, end)
