"""tests/grafana_sql.py against Grafana's own expectations.

The macro cases are those of Grafana's pkg/tsdb/grafana-postgresql-datasource/
macros_test.go (a range of 2018-04-12 18:00 to 18:05 UTC), with the texts it expects;
the variable cases follow template_srv.ts and SqlDatasource.interpolateVariable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.grafana_sql import ALL, Variable, expand_macros, grafana_sql, replace_variables

FROM = datetime(2018, 4, 12, 18, 0, tzinfo=UTC)
TO = FROM + timedelta(minutes=5)


@pytest.mark.parametrize(
    ("sql", "expanded"),
    [
        ("select $__time(time_column)", 'select time_column AS "time"'),
        ("select min($__time(time_column))", 'select min(time_column AS "time")'),
        (
            "WHERE $__timeFilter(time_column)",
            "WHERE time_column BETWEEN '2018-04-12T18:00:00Z' AND '2018-04-12T18:05:00Z'",
        ),
        ("select $__timeFrom()", "select '2018-04-12T18:00:00Z'"),
        ("select $__timeTo()", "select '2018-04-12T18:05:00Z'"),
        # The pre-5.3 spelling: a comma after $__timeGroup(...) adds the alias.
        (
            "SELECT $__timeGroup(time_column,'5m'), value",
            'SELECT floor(extract(epoch from time_column)/300)*300 AS "time", value',
        ),
        (
            "SELECT $__timeGroup(time_column,'5m') as time, value",
            "SELECT floor(extract(epoch from time_column)/300)*300 as time, value",
        ),
        (
            "SELECT $__timeGroup(time_column,'5m')",
            "SELECT floor(extract(epoch from time_column)/300)*300",
        ),
        (
            "SELECT $__timeGroupAlias(time_column,'5m')",
            'SELECT floor(extract(epoch from time_column)/300)*300 AS "time"',
        ),
        ("$__timeGroup(time_column , '5m')", "floor(extract(epoch from time_column)/300)*300"),
        ("select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300"),
        (
            "select $__unixEpochNanoFilter(time)",
            "select time >= 1523556000000000000 AND time <= 1523556300000000000",
        ),
        ("select $__unixEpochNanoFrom()", "select 1523556000000000000"),
        ("select $__unixEpochNanoTo()", "select 1523556300000000000"),
        (
            "SELECT $__unixEpochGroup(time_column+time_adjustment,'5m')",
            "SELECT floor((time_column+time_adjustment)/300)*300",
        ),
        (
            "SELECT $__unixEpochGroupAlias(time_column+time_adjustment,'5m')",
            'SELECT floor((time_column+time_adjustment)/300)*300 AS "time"',
        ),
        # sqleng's Interpolate, before the macro engine.
        (
            "WHERE t > $__unixEpochFrom() AND t < $__unixEpochTo()",
            "WHERE t > 1523556000 AND t < 1523556300",
        ),
    ],
)
def test_macros_expand_as_grafanas_macros_test_expects(sql: str, expanded: str) -> None:
    assert expand_macros(sql, FROM, TO) == expanded


def test_fractions_of_a_second_are_written_as_go_writes_them() -> None:
    # macros_test.go: 1960-02-01 07:00:00.5 → "1960-02-01T07:00:00.5Z".
    start = datetime(1960, 2, 1, 7, 0, 0, 500_000, tzinfo=UTC)
    end = datetime(1980, 2, 3, 8, 0, 0, 500_000, tzinfo=UTC)
    assert expand_macros("$__timeFilter(t)", start, end) == (
        "t BETWEEN '1960-02-01T07:00:00.5Z' AND '1980-02-03T08:00:00.5Z'"
    )
    # Time.Unix() rounds down, also before 1970: 1960-02-01 is 3622 days before the
    # epoch (335 left of 1960, 9 years with 2 leap days); 07:00:00.5 later is
    # 312,915,599.5 s before it, written -312915600.
    assert expand_macros("$__unixEpochFilter(t)", start, end) == (
        "t >= -312915600 AND t <= 318412800"
    )


def test_a_macro_grafana_does_not_know_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown macro"):
        expand_macros("SELECT $__timeFilterColumn(t)", FROM, TO)


def test_variables_as_the_sql_data_sources_interpolate_them() -> None:
    picked = {"q": Variable(["a", "it's"]), "one": Variable("x", multi=False, include_all=False)}
    # Default format: quoted literals, joined by commas; a plain single value unquoted.
    assert replace_variables("q IN ($q) AND o = '$one'", picked) == (
        "q IN ('a','it''s') AND o = 'x'"
    )
    # Regex format: escaped, several in a group, one alone as it is.
    assert replace_variables("${q:regex}", {"q": Variable(["a.b", "c(d)"])}) == r"(a\.b|c\(d\))"
    assert replace_variables("${q:regex}", {"q": Variable(["a/b"])}) == r"a\/b"
    # All with a custom all value: that value, unformatted, whatever the format.
    everything = {"q": Variable(ALL, all_value=".*")}
    assert replace_variables("'^${q:regex}$' $q [[q]]", everything) == "'^.*$' .* .*"
    # Names that are not variables (macros, $1) stay for the server.
    assert replace_variables("$__timeFrom() $1 ${q}", {"q": Variable(["a"])}) == (
        "$__timeFrom() $1 'a'"
    )


def test_variables_first_then_macros() -> None:
    sql = "SELECT 1 WHERE $__unixEpochFilter(hour) AND queue ~ '^${queue:regex}$'"
    variables = {"queue": Variable(["Växel (IT)"], all_value=".*")}
    assert grafana_sql(sql, variables, FROM, TO) == (
        r"SELECT 1 WHERE hour >= 1523556000 AND hour <= 1523556300 AND queue ~ '^Växel \(IT\)$'"
    )
