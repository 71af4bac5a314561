"""The status page as one server-rendered HTML document: no script, no external asset.

Accessibility (WCAG 2.1 AA, as the Swedish public sector must meet): a language on
the page and on every passage in the other language, a skip link, headings in
order, tables with captions and header cells, every level shown as a mark and a
word (never colour alone), text contrast of at least 4.5:1, and a layout that
reflows to one column on a phone and prints without the navigation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape

from services.core.catalog import Catalog
from services.core.status import Level, PublicItem, StatusView
from services.status.config import StatusConfig
from services.status.texts import (
    LEVEL_WORD,
    MARK,
    notice_text,
    percent,
    slug,
    when,
    word,
)


@dataclass(frozen=True, slots=True)
class PageLinks:
    """Where the page's links go; `base` is the page's own path (/status or /status/laxa)."""

    base: str

    def page(self, lang: str, municipality: str | None = None) -> str:
        path = "/status" if municipality is None else f"/status/{slug(municipality)}"
        return path + ("?lang=en" if lang == "en" else "")

    def feed(self, name: str, lang: str) -> str:
        return f"{self.base}/{name}" + ("?lang=en" if lang == "en" else "")


CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 1rem; line-height: 1.5; color: #1a1a1a; background: #fff; }
.wrap { max-width: 56rem; margin: 0 auto; padding: 0 1rem; }
.skip { position: absolute; left: -10000px; top: 0; background: #fff; color: #00457a; padding: .5rem; }
.skip:focus { left: .5rem; }
header { border-bottom: 1px solid #767676; }
header .wrap { display: flex; flex-wrap: wrap; justify-content: space-between; gap: .5rem; padding-top: .75rem; padding-bottom: .75rem; }
header p { margin: 0; font-weight: 600; }
a { color: #00457a; }
a:focus { outline: 3px solid #1a1a1a; outline-offset: 2px; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 1rem 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; }
h3 { font-size: 1.1rem; margin: 0 0 .25rem; }
.updated { margin: 0 0 1rem; color: #3d3d3d; }
.delayed { border: 2px solid #8a4b00; background: #fff4e0; padding: .75rem 1rem; margin: 1rem 0; }
.overall { font-size: 1.15rem; font-weight: 600; padding: .75rem 1rem; border-left: .5rem solid #767676; background: #f3f3f3; }
.overall.operational { border-color: #1b6e2e; background: #eef7f0; }
.overall.maintenance { border-color: #00457a; background: #eaf2fa; }
.overall.degraded { border-color: #8a4b00; background: #fff4e0; }
.overall.outage { border-color: #a4161a; background: #fdecec; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #c4c4c4; vertical-align: top; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
thead th { border-bottom: 2px solid #1a1a1a; }
.level { font-weight: 600; white-space: nowrap; }
.level.operational { color: #1b6e2e; }
.level.maintenance { color: #00457a; }
.level.degraded { color: #7a4200; }
.level.outage { color: #a4161a; }
.item { border: 1px solid #c4c4c4; border-left: .5rem solid #767676; padding: .75rem 1rem; margin: 0 0 1rem; }
.item.outage { border-left-color: #a4161a; }
.item.degraded { border-left-color: #8a4b00; }
.item.maintenance { border-left-color: #00457a; }
.item p { margin: .25rem 0 .5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .5rem 0 0; }
dt { font-weight: 600; }
dd { margin: 0; }
ul.plain { padding-left: 1.25rem; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
footer { border-top: 1px solid #767676; margin-top: 2rem; padding: 1rem 0 2rem; }
@media (max-width: 30rem) {
  dl { grid-template-columns: 1fr; }
  th, td { padding: .4rem .25rem; }
  .wrap { padding: 0 .75rem; }
  dd { margin-bottom: .35rem; }
  h1 { font-size: 1.35rem; }
}
@media print {
  .skip, header nav, nav.places, footer { display: none; }
  body { font-size: 11pt; }
  .item, tr { break-inside: avoid; }
  a { color: #1a1a1a; text-decoration: none; }
}
""".strip()


def render_page(
    view: StatusView,
    catalog: Catalog,
    config: StatusConfig,
    lang: str,
    links: PageLinks,
    delayed: bool,
) -> str:
    """The whole document. Only public fields of the view, the catalog's public names
    and the configured texts reach it."""
    title = config.title.get(lang)
    where = f" \u2013 {view.municipality}" if view.municipality else ""
    other = "sv" if lang == "en" else "en"
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title + where)}</title>",
        _alternate("application/atom+xml", word(lang, "feed_atom"), links.feed("feed.atom", lang)),
        _alternate("text/calendar", word(lang, "feed_ics"), links.feed("planned.ics", lang)),
        _alternate("application/json", word(lang, "feed_json"), links.feed("summary.json", lang)),
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f'<a class="skip" href="#main">{escape(word(lang, "skip"))}</a>',
        '<header><div class="wrap">',
        f"<p>{escape(config.organisation.get(lang))}</p>",
        f'<nav aria-label="{"Language" if lang == "en" else "Språk"}">'
        f'<a href="{escape(links.page(other, view.municipality))}" lang="{other}" '
        f'hreflang="{other}">{LANGUAGE_NAME[other]}</a></nav>',
        "</div></header>",
        '<main id="main" class="wrap">',
        f"<h1>{escape(title + where)}</h1>",
        f'<p class="updated">{escape(word(lang, "updated"))}: {_time(view.now, lang)}</p>',
    ]
    if delayed:
        parts.append(
            f'<div class="delayed" role="status"><strong>{escape(word(lang, "delayed"))}</strong> '
            f"{escape(word(lang, 'delayed_more'))}</div>"
        )
    parts += _now(view, catalog, lang, delayed)
    parts += _items(
        word(lang, "current"), word(lang, "no_current"), view.current, catalog, config, lang
    )
    parts += _items(
        word(lang, "planned", days=config.planned_days),
        word(lang, "no_planned"),
        view.planned,
        catalog,
        config,
        lang,
    )
    parts += _history(view, catalog, config, lang)
    parts += _places(view, catalog, lang, links)
    parts += [
        "</main>",
        '<footer><div class="wrap">',
        f"<h2>{escape(word(lang, 'subscribe'))}</h2>",
        '<ul class="plain">',
        f'<li><a href="{escape(links.feed("feed.atom", lang))}">{escape(word(lang, "feed_atom"))}</a></li>',
        f'<li><a href="{escape(links.feed("planned.ics", lang))}">{escape(word(lang, "feed_ics"))}</a></li>',
        f'<li><a href="{escape(links.feed("summary.json", lang))}">{escape(word(lang, "feed_json"))}</a></li>',
        "</ul>",
        "</div></footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# Each language by its own name, marked with its language (WCAG 3.1.2).
LANGUAGE_NAME = {"sv": "Svenska", "en": "English"}


def _alternate(kind: str, title: str, href: str) -> str:
    return f'<link rel="alternate" type="{kind}" title="{escape(title)}" href="{escape(href)}">'


def _time(t: datetime, lang: str) -> str:
    return f'<time datetime="{t.isoformat()}">{escape(when(t, lang))}</time>'


def _level(level: Level, lang: str) -> str:
    return (
        f'<span class="level {level}"><span aria-hidden="true">{MARK[level]}</span> '
        f"{escape(LEVEL_WORD[lang][level])}</span>"
    )


def _now(view: StatusView, catalog: Catalog, lang: str, delayed: bool) -> list[str]:
    level = view.level
    if delayed and level == "operational":
        # Never a stale "all operational" while events wait to be applied.
        summary, css = word(lang, "unknown"), "unknown"
    else:
        key = {"operational": "all_ok", "maintenance": "some_maintenance"}.get(
            level, "some_trouble"
        )
        summary, css = word(lang, key), level
    out = [
        '<section aria-labelledby="now">',
        f'<h2 id="now">{escape(word(lang, "now"))}</h2>',
        f'<p class="overall {css}">{escape(summary)}</p>',
    ]
    if not view.services:
        return [*out, f"<p>{escape(word(lang, 'no_services'))}</p>", "</section>"]
    out += [
        "<table>",
        f"<caption>{escape(word(lang, 'services'))}</caption>",
        f'<thead><tr><th scope="col">{escape(word(lang, "service"))}</th>'
        f'<th scope="col">{escape(word(lang, "status"))}</th></tr></thead>',
        "<tbody>",
    ]
    for line in view.services:
        name = catalog.services[line.id].public(lang)
        # Only some municipalities hit: say which, so nobody elsewhere is alarmed.
        where = [m for m, level in line.levels.items() if level == line.level]
        at = f" ({escape(', '.join(where))})" if line.partial else ""
        out.append(
            f'<tr><th scope="row">{escape(name)}</th><td>{_level(line.level, lang)}{at}</td></tr>'
        )
    return [*out, "</tbody>", "</table>", "</section>"]


def _items(
    heading: str,
    empty: str,
    items: Iterable[PublicItem],
    catalog: Catalog,
    config: StatusConfig,
    lang: str,
) -> list[str]:
    ident = "s-" + slug(heading)
    out = ['<section aria-labelledby="' + ident + '">', f'<h2 id="{ident}">{escape(heading)}</h2>']
    shown = [_item(i, catalog, config, lang) for i in items]
    return [*out, *(shown or [f"<p>{escape(empty)}</p>"]), "</section>"]


def _item(
    item: PublicItem, catalog: Catalog, config: StatusConfig, lang: str, past: bool = False
) -> str:
    notice = item.notice or config.default_notice
    text, text_lang = notice_text(notice, lang)
    other = f' lang="{text_lang}"' if text_lang != lang else ""
    names = ", ".join(
        catalog.services[s].public(lang) for s in item.services if s in catalog.services
    )
    kind = word(lang, "maintenance") if item.kind == "maintenance" else LEVEL_WORD[lang][item.level]
    rows = [
        (word(lang, "services"), escape(names), ""),
        (word(lang, "municipalities"), escape(", ".join(item.municipalities)), ""),
    ]
    if text.affected:
        rows.append((word(lang, "affected"), escape(text.affected), other))
    if text.action:
        rows.append((word(lang, "action"), escape(text.action), other))
    if item.kind == "maintenance":
        begun = past or item.active
        rows.append((word(lang, "started" if begun else "starts"), _time(item.starts, lang), ""))
        if item.ends is not None:
            rows.append((word(lang, "ended" if past else "ends"), _time(item.ends, lang), ""))
    else:
        rows.append((word(lang, "started"), _time(item.starts, lang), ""))
        if item.ends is not None:
            rows.append((word(lang, "ended"), _time(item.ends, lang), ""))
        elif notice.expected_end is not None:
            rows.append((word(lang, "expected_end"), _time(notice.expected_end, lang), ""))
    rows.append((word(lang, "notice_updated"), _time(item.updated, lang), ""))
    body = "".join(f"<dt>{escape(k)}</dt><dd{attr}>{v}</dd>" for k, v, attr in rows)
    css = item.level if item.kind == "incident" else "maintenance"
    return (
        f'<article class="item {css}">'
        f"<h3>{_level(item.level, lang) if item.active else escape(kind)}"
        f" \u2013 {escape(names)}</h3>"
        f"<p{other}>{escape(text.what)}</p>"
        f"<dl>{body}</dl></article>"
    )


def _history(view: StatusView, catalog: Catalog, config: StatusConfig, lang: str) -> list[str]:
    heading = word(lang, "history", days=config.history_days)
    out = ['<section aria-labelledby="history">', f'<h2 id="history">{escape(heading)}</h2>']
    if view.services and view.municipalities:
        # One row per e-service and municipality, not a column per municipality: three
        # narrow columns fit a phone however many municipalities there are.
        out += [
            "<table>",
            f"<caption>{escape(word(lang, 'availability_caption'))}</caption>",
            f'<thead><tr><th scope="col">{escape(word(lang, "service"))}</th>'
            f'<th scope="col">{escape(word(lang, "municipality"))}</th>'
            f'<th scope="col" class="num">{escape(word(lang, "availability"))}</th></tr></thead>',
            "<tbody>",
        ]
        for line in view.services:
            name = escape(catalog.services[line.id].public(lang))
            for m, share in line.availability.items():
                out.append(
                    f'<tr><th scope="row">{name}</th><td>{escape(m)}</td>'
                    f'<td class="num">{escape(percent(share, lang))}</td></tr>'
                )
        out += ["</tbody>", "</table>"]
    shown = [_item(i, catalog, config, lang, past=True) for i in view.history]
    return [*out, *(shown or [f"<p>{escape(word(lang, 'no_history'))}</p>"]), "</section>"]


def _places(view: StatusView, catalog: Catalog, lang: str, links: PageLinks) -> list[str]:
    everywhere = sorted({m for s in catalog.e_services() for m in s.municipalities})
    entries = [(word(lang, "all_municipalities"), links.page(lang), view.municipality is None)]
    entries += [(m, links.page(lang, m), view.municipality == m) for m in everywhere]
    current = ' aria-current="page"'
    items = "".join(
        f'<li><a href="{escape(href)}"{current if here else ""}>{escape(name)}</a></li>'
        for name, href, here in entries
    )
    return [
        f'<nav class="places" aria-labelledby="places"><h2 id="places">{escape(word(lang, "choose"))}</h2>',
        f"<ul>{items}</ul></nav>",
    ]
