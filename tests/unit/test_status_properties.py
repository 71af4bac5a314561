"""Property: nothing internal ever reaches a public page or feed.

Random incidents and planned work, built from events, carry internal fields
(incident and change ids, titles, planned work, approvers) that all contain the
marker INTERNAL; public notices are random text without it. Whatever the mix, the
marker appears in none of the HTML page (sv, en, every municipality and all), the
JSON summary, the Atom feed or the iCalendar feed, and every open incident's
public text (or the default text) is on the page.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import icalendar
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.changes import ChangeState
from services.core.incidents import IncidentState
from services.core.status import status_view
from services.status.config import StatusConfig
from services.status.feeds import _fold, _ics_text, atom_feed, ics_calendar, summary_json
from services.status.page import PageLinks, render_page
from tests.unit.test_status import ALL, NOW, catalog, change, incident

MARK = "INTERNAL"
SERVICES = ["network", "server", "engine", "apply", "benefit", "mail", "web", "not-in-catalog"]

internal = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=20
).map(lambda s: f"{MARK}{s}")
internal_id = st.from_regex(r"[A-Za-z0-9-]{1,12}", fullmatch=True).map(lambda s: f"{MARK}-{s}")
public_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() and MARK not in s)
notice = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"sv": st.fixed_dictionaries({"what": public_text}, optional={"action": public_text})},
        optional={
            "en": st.fixed_dictionaries({"what": public_text}, optional={"affected": public_text})
        },
    ),
)
offset = st.integers(min_value=-40 * 24 * 60, max_value=0).map(lambda m: timedelta(minutes=m))
length = st.integers(min_value=1, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def incidents(draw: st.DrawFn) -> IncidentState:
    opened = NOW + draw(offset)
    ends = opened + draw(length)
    extra: dict[str, Any] = {"title": draw(internal)}
    if draw(st.booleans()):
        extra["planned_work"] = draw(internal_id)
    if (n := draw(notice)) is not None:
        extra["notice"] = n
    return incident(
        draw(internal_id),
        draw(st.sampled_from(SERVICES)),
        opened,
        ends if ends <= NOW and draw(st.booleans()) else None,
        draw(st.sampled_from(["outage", "degraded"])),
        draw(st.lists(st.sampled_from(ALL), unique=True, max_size=3)),
        **extra,
    )


@st.composite
def changes(draw: st.DrawFn) -> ChangeState:
    start = NOW + draw(offset) + timedelta(days=draw(st.integers(0, 50)))
    n = draw(notice)
    extra: dict[str, Any] = {"title": draw(internal)}
    if n is not None:
        extra["notice"] = n
    return change(
        draw(internal_id),
        draw(st.sampled_from(SERVICES)),
        start,
        start + draw(length),
        False,
        scheduled=min(start, NOW) - timedelta(days=1),
        **extra,
    )


def unfolded(ics: bytes) -> str:
    return ics.decode().replace("\r\n ", "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    found=st.lists(incidents(), max_size=6),
    work=st.lists(changes(), max_size=4),
    place=st.sampled_from([None, *ALL]),
    lang=st.sampled_from(["sv", "en"]),
    delayed=st.booleans(),
)
def test_nothing_internal_is_ever_public(
    found: list[IncidentState],
    work: list[ChangeState],
    place: str | None,
    lang: str,
    delayed: bool,
) -> None:
    cat = catalog()
    config = StatusConfig()
    view = status_view(cat, found, work, NOW, place)
    page = render_page(view, cat, config, lang, PageLinks("/status"), delayed)
    summary = orjson.dumps(summary_json(view, cat, config, lang, "https://x/status", delayed))
    atom = atom_feed(view, cat, config, lang, "https://x/status", "https://x/status/feed.atom")
    ics = ics_calendar(view, cat, config, lang, "https://x/status")
    for name, text in [
        ("page", page),
        ("summary", summary.decode()),
        ("atom", atom.decode()),
        ("ics", unfolded(ics)),
    ]:
        assert MARK not in text, name
    # The public side is there: each open incident's notice, or the default text.
    for item in view.current:
        if item.kind != "incident":
            continue
        chosen = item.notice or config.default_notice
        shown = chosen.en if lang == "en" and chosen.en is not None else chosen.sv
        assert html.escape(shown.what) in page


def test_the_marker_would_be_found() -> None:
    """The property is not vacuous: a notice that does say the marker shows it."""
    leaky = incident(
        "X-1", "web", NOW - timedelta(hours=1), notice={"sv": {"what": f"{MARK} on purpose"}}
    )
    view = status_view(catalog(), [leaky], [], NOW)
    page = render_page(view, catalog(), StatusConfig(), "sv", PageLinks("/status"), False)
    assert MARK in page


@given(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=300)
)
def test_ical_lines_fold_at_75_octets_and_unfold_to_the_text(text: str) -> None:
    """RFC 5545 3.1 and 3.3.11, checked by the icalendar parser as well as by hand."""
    line = "DESCRIPTION:" + _ics_text(text)
    folded = _fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
    cal = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
    cal += f"UID:1\r\nDTSTAMP:20260101T000000Z\r\n{folded}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    event = icalendar.Calendar.from_ical(cal).walk("VEVENT")[0]
    assert str(event["DESCRIPTION"]) == text.replace("\r\n", "\n").replace("\r", "\n")
