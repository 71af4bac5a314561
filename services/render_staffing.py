"""The staffing plan as a CLI table that fits 80 columns."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def _hm(iso: str) -> str:
    return iso[11:16]  # "2022-09-05T09:30:00+02:00" -> "09:30"


def _cell(iv: dict[str, Any] | None, rostered: bool) -> str:
    if iv is None:
        return ""
    if rostered:
        # calls, scheduled needed / rostered, "!" where the roster falls short
        n = iv.get("rostered")
        short = "!" if (n or 0) < iv["scheduled"] else " "
        return f"{iv['calls']:.1f} {iv['scheduled']}/{'-' if n is None else n}{short}"
    if not iv["calls"]:
        return "-"
    c = iv["erlang_c"]["agents"]
    a = iv["erlang_a"]["agents"] if iv["erlang_a"] else "-"
    return f"{iv['calls']:.1f} {c}/{a} {iv['scheduled']}"


def _weighted(day: dict[str, Any], key: str, model: str = "erlang_c") -> str:
    """The day's expected figure at a staffing (`model`), weighted by calls."""
    rows = [iv for iv in day["intervals"] if iv["calls"]]
    calls = sum(iv["calls"] for iv in rows)
    if not calls or any(iv.get(model) is None or iv[model][key] is None for iv in rows):
        return "-"
    return f"{sum(iv['calls'] * iv[model][key] for iv in rows) / calls * 100:.0f} %"


def staffing_table(body: dict[str, Any]) -> Table:
    days = [d for d in body["days"] if d["open"] or d["weekday"] not in ("Sat", "Sun")]
    who = f"queue {body['queue']}" if body.get("queue") else "all queues"
    title = (
        f"Staffing {body['week']}, {who}: {body['target'] * 100:.0f} % "
        f"within {body['within_seconds']} s"
    )
    patience = body["patience_seconds"]
    rostered = "rostered_hours" in body
    legend = (
        "calls, scheduled needed/rostered (! short)"
        if rostered
        else "calls, agents Erlang C/Erlang A, scheduled"
    )
    caption = (
        f"cell: {legend} ({body['shrinkage'] * 100:.0f} % "
        f"shrinkage)\nAHT {body['aht_seconds']:.0f} s ({body['aht_source']}), patience "
        + ("-" if patience is None else f"{patience:.0f} s")
        + f"; basis: {body['basis']['kind'].replace('_', ' ')} "
        + (", ".join(body["basis"]["weeks"][:3]) + ("…" if len(body["basis"]["weeks"]) > 3 else ""))
        + f"\n{body['split']}"
    )
    table = Table(title=title, caption=caption, caption_justify="left")
    table.add_column("time")
    for d in days:
        name = f"{d['weekday']} {d['date'][8:10]}/{d['date'][5:7]}"
        if not d["open"]:
            name += " closed"
        elif d["bridge_day"]:
            name += " bridge"
        table.add_column(name, justify="right")
    times = sorted({_hm(iv["start"]) for d in days for iv in d["intervals"]})
    by_day = [{_hm(iv["start"]): iv for iv in d["intervals"]} for d in days]
    for t in times:
        table.add_row(t, *[_cell(b.get(t), rostered) for b in by_day])
    table.add_section()
    table.add_row("calls", *[f"{d['calls']:.0f}" for d in days])
    for label, key in (("C hours", "erlang_c"), ("A hours", "erlang_a"), ("sched. h", "scheduled")):
        table.add_row(label, *[f"{d['agent_hours'][key]:g}" for d in days])
    table.add_row("SL (C)", *[_weighted(d, "service_level") for d in days])
    table.add_row("occupancy", *[_weighted(d, "occupancy") for d in days])
    if rostered:
        table.add_row("roster h", *[f"{d['rostered_hours']:g}" for d in days])
        table.add_row(
            "SL roster", *[_weighted(d, "service_level", "rostered_erlang_c") for d in days]
        )
    return table
