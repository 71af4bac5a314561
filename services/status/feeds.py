"""The status page's feeds: a Statuspage-shaped JSON summary, Atom (RFC 4287) and
iCalendar (RFC 5545) of planned work. Each is made from a StatusView alone, so it
shows what the page shows and nothing more.

None of them contains the time of the request (only the view's last_modified), so
their bytes, and with them the ETag, change only when the status does.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from services.core.catalog import Catalog
from services.core.status import Level, PublicItem, StatusView
from services.status.config import StatusConfig
from services.status.texts import LEVEL_WORD, notice_text, slug, when, word

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Statuspage's words for a component's status, an incident's impact and the page's indicator.
COMPONENT_STATUS: dict[Level, str] = {
    "operational": "operational",
    "maintenance": "under_maintenance",
    "degraded": "degraded_performance",
    "outage": "major_outage",
}
IMPACT: dict[Level, str] = {
    "operational": "none",
    "maintenance": "maintenance",
    "degraded": "minor",
    "outage": "major",
}
INDICATOR: dict[Level, str] = {
    "operational": "none",
    "maintenance": "none",
    "degraded": "minor",
    "outage": "major",
}


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _names(item: PublicItem, catalog: Catalog, lang: str) -> str:
    return ", ".join(
        catalog.services[s].public(lang) for s in item.services if s in catalog.services
    )


def headline(item: PublicItem, catalog: Catalog, lang: str) -> str:
    kind = LEVEL_WORD[lang][item.level] if item.kind == "incident" else word(lang, "maintenance")
    return f"{kind} \u2013 {_names(item, catalog, lang)}"


def _body(item: PublicItem, config: StatusConfig, lang: str) -> str:
    text, _ = notice_text(item.notice or config.default_notice, lang)
    lines = [text.what]
    if text.affected:
        lines.append(f"{word(lang, 'affected')}: {text.affected}")
    if text.action:
        lines.append(f"{word(lang, 'action')}: {text.action}")
    lines.append(f"{word(lang, 'municipalities')}: {', '.join(item.municipalities)}")
    return "\n".join(lines)


def summary_json(
    view: StatusView,
    catalog: Catalog,
    config: StatusConfig,
    lang: str,
    page_url: str,
    delayed: bool,
) -> dict[str, Any]:
    """Statuspage's /api/v2/summary.json: page, components, unresolved incidents,
    scheduled maintenances (upcoming and in progress) and the overall status."""
    page_id = slug(config.title.sv) + (f"-{slug(view.municipality)}" if view.municipality else "")
    stamp = _iso(view.last_modified)
    components = []
    for pos, line in enumerate(view.services, start=1):
        components.append(
            {
                "id": line.id,
                "name": catalog.services[line.id].public(lang),
                # An outage in some of the municipalities shown only: Statuspage's
                # partial outage.
                "status": "partial_outage"
                if line.level == "outage" and line.partial
                else COMPONENT_STATUS[line.level],
                "created_at": stamp,
                "updated_at": stamp,
                "position": pos,
                "description": None,
                "showcase": True,
                "start_date": None,
                "group_id": None,
                "page_id": page_id,
                "group": False,
                "only_show_if_degraded": False,
            }
        )
    by_id = {c["id"]: c for c in components}

    def incident(item: PublicItem) -> dict[str, Any]:
        body = _body(item, config, lang)
        maintenance = item.kind == "maintenance"
        if maintenance:
            status = "in_progress" if item.active else "scheduled"
        else:
            status = "identified" if item.notice is not None else "investigating"
        out: dict[str, Any] = {
            "id": item.key,
            "name": headline(item, catalog, lang),
            "status": status,
            "created_at": _iso(item.starts),
            "updated_at": _iso(item.updated),
            "monitoring_at": None,
            "resolved_at": None,
            "impact": IMPACT[item.level],
            "shortlink": f"{page_url}#{item.key}",
            "started_at": _iso(item.starts),
            "page_id": page_id,
            "incident_updates": [
                {
                    "id": f"{item.key}-{int(item.updated.timestamp())}",
                    "status": status,
                    "body": body,
                    "incident_id": item.key,
                    "created_at": _iso(item.updated),
                    "updated_at": _iso(item.updated),
                    "display_at": _iso(item.updated),
                    "affected_components": None,
                    "deliver_notifications": True,
                    "custom_tweet": None,
                    "tweet_id": None,
                }
            ],
            "components": [by_id[s] for s in item.services if s in by_id],
        }
        if maintenance:
            out["scheduled_for"] = _iso(item.starts)
            out["scheduled_until"] = _iso(item.ends) if item.ends else None
        return out

    level = view.level
    if delayed and level == "operational":
        description = word(lang, "unknown")
    else:
        key = {"operational": "all_ok", "maintenance": "some_maintenance"}.get(
            level, "some_trouble"
        )
        description = word(lang, key)
    if delayed:
        description = f"{description} {word(lang, 'delayed')}"
    return {
        "page": {
            "id": page_id,
            "name": config.title.get(lang)
            + (f" \u2013 {view.municipality}" if view.municipality else ""),
            "url": page_url,
            "time_zone": "Europe/Stockholm",
            "updated_at": stamp,
        },
        "components": components,
        "incidents": [incident(i) for i in view.current if i.kind == "incident"],
        "scheduled_maintenances": [
            incident(i) for i in [*view.current, *view.planned] if i.kind == "maintenance"
        ],
        "status": {"indicator": INDICATOR[level], "description": description},
    }


def atom_feed(
    view: StatusView,
    catalog: Catalog,
    config: StatusConfig,
    lang: str,
    page_url: str,
    feed_url: str,
) -> bytes:
    """RFC 4287: one entry per notice (current, planned and past), newest update first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {XML_LANG: lang})
    title = config.title.get(lang) + (f" \u2013 {view.municipality}" if view.municipality else "")
    _sub(feed, "id", _urn(feed_url))
    _sub(feed, "title", title)
    _sub(feed, "updated", _iso(view.last_modified))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _sub(author, "name", config.organisation.get(lang))
    ET.SubElement(
        feed, f"{{{ATOM}}}link", {"rel": "self", "href": feed_url, "type": "application/atom+xml"}
    )
    ET.SubElement(
        feed, f"{{{ATOM}}}link", {"rel": "alternate", "href": page_url, "type": "text/html"}
    )
    items = sorted(
        [*view.current, *view.planned, *view.history],
        key=lambda i: (i.updated, i.key),
        reverse=True,
    )
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _sub(entry, "id", _urn(f"{feed_url}#{item.key}"))
        _sub(entry, "title", headline(item, catalog, lang))
        _sub(entry, "updated", _iso(item.updated))
        _sub(entry, "published", _iso(item.starts))
        ET.SubElement(
            entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{page_url}#{item.key}"}
        )
        _, text_lang = notice_text(item.notice or config.default_notice, lang)
        content = _sub(entry, "content", _entry_text(item, config, lang))
        content.set("type", "text")
        if text_lang != lang:
            content.set(XML_LANG, text_lang)
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out


def _entry_text(item: PublicItem, config: StatusConfig, lang: str) -> str:
    times = [
        f"{word(lang, 'starts' if item.kind == 'maintenance' else 'started')}: {when(item.starts, lang)}"
    ]
    if item.ends is not None:
        key = "ends" if item.kind == "maintenance" else "ended"
        times.append(f"{word(lang, key)}: {when(item.ends, lang)}")
    return _body(item, config, lang) + "\n" + "\n".join(times)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    el.text = text
    return el


def _urn(name: str) -> str:
    # Stable across requests and languages' feeds apart: the feed's URL names it.
    return uuid.uuid5(uuid.NAMESPACE_URL, name).urn


def ics_calendar(
    view: StatusView, catalog: Catalog, config: StatusConfig, lang: str, page_url: str
) -> bytes:
    """RFC 5545: planned work in progress and ahead, one VEVENT each."""
    title = config.title.get(lang) + (f" \u2013 {view.municipality}" if view.municipality else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:-//opstrack//status page//{lang.upper()}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(title)}",
        "X-WR-TIMEZONE:Europe/Stockholm",
    ]
    work = [i for i in [*view.current, *view.planned] if i.kind == "maintenance"]
    for item in sorted(work, key=lambda i: (i.starts, i.key)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{item.key}@opstrack-status",
            f"DTSTAMP:{_ics_time(item.updated)}",
            f"LAST-MODIFIED:{_ics_time(item.updated)}",
            f"DTSTART:{_ics_time(item.starts)}",
            *([f"DTEND:{_ics_time(item.ends)}"] if item.ends else []),
            f"SUMMARY:{_ics_text(headline(item, catalog, lang))}",
            f"DESCRIPTION:{_ics_text(_body(item, config, lang))}",
            f"URL:{page_url}#{item.key}",
            "STATUS:CONFIRMED",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _ics_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ics_text(value: str) -> str:
    """RFC 5545 3.3.11: backslash, semicolon, comma and newline escaped."""
    out = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return out.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 3.1: lines of at most 75 octets, continued with CRLF and a space,
    never splitting a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # the continuation's leading space counts
        current += ch
        size += n
    parts.append(current)
    return "\r\n ".join(parts)
