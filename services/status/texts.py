"""The status page's words and formats in Swedish and English, and municipality slugs."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Literal

from babel.dates import format_datetime
from babel.numbers import format_percent

from services.core.contracts.notice import Notice, NoticeText
from services.core.periods import STOCKHOLM
from services.core.status import Level

Lang = Literal["sv", "en"]
LOCALES: dict[str, str] = {"sv": "sv_SE", "en": "en_GB"}

# A mark beside every level's word, so it is never told by colour alone (WCAG 1.4.1).
MARK: dict[Level, str] = {
    "operational": "\u2714",  # ✔
    "maintenance": "\u2692",  # ⚒
    "degraded": "\u26a0",  # ⚠
    "outage": "\u2716",  # ✖
}

LEVEL_WORD: dict[str, dict[Level, str]] = {
    "sv": {
        "operational": "Fungerar",
        "maintenance": "Planerat arbete",
        "degraded": "Störning",
        "outage": "Avbrott",
    },
    "en": {
        "operational": "Operational",
        "maintenance": "Maintenance",
        "degraded": "Disruption",
        "outage": "Outage",
    },
}

WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "skip": "Hoppa till innehållet",
        "updated": "Senast uppdaterad",
        "delayed": "Informationen kan vara försenad.",
        "delayed_more": "Vi tar emot uppgifterna men har inte hunnit behandla alla; det som visas kan vara inaktuellt.",
        "now": "Just nu",
        "all_ok": "Alla e-tjänster fungerar.",
        "some_maintenance": "Planerat arbete pågår.",
        "some_trouble": "Det finns störningar i e-tjänsterna.",
        "unknown": "Vi kan inte säga säkert hur e-tjänsterna fungerar just nu.",
        "service": "E-tjänst",
        "status": "Status",
        "current": "Pågående störningar och arbeten",
        "no_current": "Inga pågående störningar eller arbeten.",
        "planned": "Planerat arbete de närmaste {days} dagarna",
        "no_planned": "Inget planerat arbete.",
        "history": "Historik de senaste {days} dagarna",
        "availability": "Tillgänglighet",
        "municipality": "Kommun",
        "availability_caption": "Andel av tiden som e-tjänsten fungerade, per kommun",
        "no_history": "Inga störningar eller arbeten.",
        "no_services": "Inga e-tjänster att visa.",
        "services": "E-tjänster",
        "municipalities": "Kommuner",
        "affected": "Vilka berörs",
        "action": "Vad vi gör",
        "started": "Började",
        "ended": "Avslutades",
        "starts": "Börjar",
        "ends": "Beräknas klart",
        "expected_end": "Beräknas fungera igen",
        "notice_updated": "Uppdaterad",
        "all_municipalities": "Alla kommuner",
        "choose": "Visa för kommun",
        "subscribe": "Prenumerera",
        "feed_atom": "Nyhetsflöde (Atom)",
        "feed_ics": "Kalender med planerat arbete (iCalendar)",
        "feed_json": "Sammanfattning (JSON)",
        "incident": "Störning",
        "maintenance": "Planerat arbete",
        "no_data": "\u2013",
    },
    "en": {
        "skip": "Skip to content",
        "updated": "Last updated",
        "delayed": "Information may be delayed.",
        "delayed_more": "We are receiving updates but have not processed all of them yet; what is shown may be out of date.",
        "now": "Right now",
        "all_ok": "All e-services are operational.",
        "some_maintenance": "Planned work is in progress.",
        "some_trouble": "Some e-services are disrupted.",
        "unknown": "We cannot tell for certain how the e-services work right now.",
        "service": "E-service",
        "status": "Status",
        "current": "Current disruptions and work",
        "no_current": "No current disruptions or work.",
        "planned": "Planned work in the next {days} days",
        "no_planned": "No planned work.",
        "history": "History of the last {days} days",
        "availability": "Availability",
        "municipality": "Municipality",
        "availability_caption": "Share of the time the e-service worked, per municipality",
        "no_history": "No disruptions or work.",
        "no_services": "No e-services to show.",
        "services": "E-services",
        "municipalities": "Municipalities",
        "affected": "Who is affected",
        "action": "What we are doing",
        "started": "Started",
        "ended": "Ended",
        "starts": "Starts",
        "ends": "Expected to end",
        "expected_end": "Expected to work again",
        "notice_updated": "Updated",
        "all_municipalities": "All municipalities",
        "choose": "Show for municipality",
        "subscribe": "Subscribe",
        "feed_atom": "News feed (Atom)",
        "feed_ics": "Calendar of planned work (iCalendar)",
        "feed_json": "Summary (JSON)",
        "incident": "Disruption",
        "maintenance": "Planned work",
        "no_data": "\u2013",
    },
}


def lang_of(value: str | None) -> Lang:
    return "en" if value == "en" else "sv"


def word(lang: str, key: str, **fill: object) -> str:
    return WORDS[lang][key].format(**fill)


def when(t: datetime, lang: str) -> str:
    """Local time (Europe/Stockholm), as people write it: `6 december 2026 10:15`."""
    pattern = "d MMMM y 'kl.' HH:mm" if lang == "sv" else "d MMMM y, HH:mm"
    return format_datetime(t.astimezone(STOCKHOLM), pattern, locale=LOCALES[lang])


def percent(share: float | None, lang: str) -> str:
    if share is None:
        return word(lang, "no_data")
    # Two decimals: 99.95 % and 100 % must not both read as 100 %.
    digits = "#,##0.00 %" if lang == "sv" else "#,##0.00%"
    return format_percent(share, digits, locale=LOCALES[lang])


def notice_text(notice: Notice, lang: str) -> tuple[NoticeText, Lang]:
    """The notice's text in `lang`, or in Swedish (with its language) if it has no such."""
    if lang == "en" and notice.en is not None:
        return notice.en, "en"
    return notice.sv, "sv"


def slug(municipality: str) -> str:
    """`Laxå` -> `laxa`: a URL path segment without percent-escapes."""
    plain = unicodedata.normalize("NFKD", municipality).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "x"
