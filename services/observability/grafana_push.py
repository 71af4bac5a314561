"""Push opstrack's dashboards to a Grafana, and its incidents as annotations (grafana-client).

Dashboards are upserted by uid (`POST /api/dashboards/db`, overwrite), so pushing again
replaces them. Incidents become organisation-wide annotations tagged
`opstrack, incident, <service>`, which every opstrack dashboard shows; an incident already
annotated is left alone, or given its end once it is resolved, so pushing on a schedule
adds no duplicates. Every failure is a one-line `ClientError`; the token is never shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException, GrafanaUnauthorizedError

from services import client
from services.client import ClientError
from services.core.periods import Period
from services.observability.dashboard_parts import INCIDENT_TAGS
from services.observability.dashboards import DEFAULT_OPSTRACK_URL, build_all

TIMEOUT_SECONDS = 30.0
MESSAGE = "pushed by `opstrack grafana push`"


@dataclass(frozen=True, slots=True)
class Annotation:
    time_ms: int
    end_ms: int | None  # None while the incident is open: a point, not a region
    tags: tuple[str, ...]
    text: str


@dataclass(slots=True)
class PushSummary:
    dashboards: list[str] = field(default_factory=list)  # the URL of each, as Grafana says
    added: int = 0
    updated: int = 0
    unchanged: int = 0


def shown(url: str) -> str:
    """The URL without user:password, fit to print."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@contextmanager
def grafana_errors(url: str) -> Iterator[None]:
    """Turn grafana-client's and the transport's exceptions into one-line ClientErrors."""
    where = f"Grafana at {shown(url)}"
    try:
        yield
    except GrafanaUnauthorizedError:
        raise ClientError(
            f"{where} answered 401 Unauthorized: the token was refused (see --token, GRAFANA_TOKEN)"
        ) from None
    except GrafanaException as exc:
        status = f"answered {exc.status_code}" if exc.status_code else "failed"
        raise ClientError(f"{where} {status}: {_one_line(exc.message)}") from None
    except OSError as exc:  # niquests' connection errors are OSErrors
        raise ClientError(f"cannot reach {where}: {_reason(exc)}") from None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def _reason(exc: OSError) -> str:
    # urllib3 nests the socket's error deep in a long repr; its errno text is what helps.
    text = str(exc)
    if "Failed to resolve" in text or "NameResolutionError" in text:
        return "the host name does not resolve"
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    return found.group(1).strip() if found else _one_line(text)


@contextmanager
def connect(url: str, token: str) -> Iterator[Any]:
    """A GrafanaApi authenticating with `Authorization: Bearer <token>`, closed afterwards."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"--url must be an http(s):// URL of Grafana, not {shown(url)!r}")
    # grafana-client appends "api" to the path as it is: a sub-path needs its slash.
    api = GrafanaApi.from_url(url.rstrip("/") + "/", credential=token, timeout=TIMEOUT_SECONDS)
    try:
        yield api
    finally:
        api.client.s.close()


def push_dashboards(
    api: Any, models: Mapping[str, dict[str, Any]], folder_uid: str | None = None
) -> list[str]:
    """Create or replace each dashboard by its uid; returns the URL Grafana gives each."""
    urls = []
    base = shown(api.url)
    for model in models.values():
        payload: dict[str, Any] = {"dashboard": model, "overwrite": True, "message": MESSAGE}
        if folder_uid:
            payload["folderUid"] = folder_uid
        answer = api.dashboard.update_dashboard(payload)
        path = answer.get("url") if isinstance(answer, dict) else None
        # Grafana answers with a path that includes any sub-path it is served under.
        urls.append(urljoin(base, str(path)) if path else str(model["uid"]))
    return urls


def _epoch_ms(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp() * 1000)


def incident_annotations(
    incidents: list[dict[str, Any]], period: Period | None = None
) -> list[Annotation]:
    """One annotation per incident (in the period, if given), from opened to resolved."""
    found = []
    for i in incidents:
        start, end = _epoch_ms(i["opened_at"]), _epoch_ms(i.get("resolved_at"))
        if start is None:
            continue
        if period is not None and not _overlaps(start, end, period):
            continue
        text = i.get("title") or i["incident_id"]
        found.append(Annotation(start, end, (*INCIDENT_TAGS, str(i["service"])), str(text)))
    return sorted(found, key=lambda a: (a.time_ms, a.text))


def _overlaps(start: int, end: int | None, period: Period) -> bool:
    return start < period.end_epoch() * 1000 and (end is None or end >= period.start_epoch() * 1000)


def read_incidents(opstrack_url: str) -> list[dict[str, Any]]:
    """Open and resolved incidents from opstrack's `GET /v1/incidents`."""
    found: list[dict[str, Any]] = []
    try:
        for status in ("resolved", "open"):
            answer = client.get_json(opstrack_url, "/v1/incidents", {"status": status})
            found.extend(answer["incidents"])
    except ClientError as exc:
        # services.client names the CLI's usual option; this command's is --api.
        raise ClientError(str(exc).replace("see --url", "see --api")) from None
    return found


def _key(
    time_ms: int, text: str, tags: list[str] | tuple[str, ...]
) -> tuple[int, str, tuple[str, ...]]:
    return (time_ms, text, tuple(sorted(tags)))


def push_annotations(api: Any, annotations: list[Annotation], summary: PushSummary) -> None:
    if not annotations:
        return
    existing = api.annotations.find_annotations(
        time_from=annotations[0].time_ms,
        time_to=max(a.end_ms or a.time_ms for a in annotations),
        ann_type="annotation",
        tags=INCIDENT_TAGS,
        limit=10 * len(annotations) + 100,
    )
    seen = {_key(int(e["time"]), str(e.get("text", "")), e.get("tags") or []): e for e in existing}
    for a in annotations:
        old = seen.get(_key(a.time_ms, a.text, a.tags))
        if old is None:
            api.annotations.add_annotation(
                time_from=a.time_ms, time_to=a.end_ms, tags=list(a.tags), text=a.text
            )
            summary.added += 1
        elif (old.get("timeEnd") or old["time"]) != (a.end_ms or a.time_ms):
            # Resolved since the last push: give the mark its end. Tags and text go again
            # because Grafana's PATCH replaces the tags with whatever list it is sent.
            api.annotations.partial_update_annotation(
                old["id"], time_from=a.time_ms, time_to=a.end_ms, tags=list(a.tags), text=a.text
            )
            summary.updated += 1
        else:
            summary.unchanged += 1


def push(
    url: str,
    token: str,
    *,
    opstrack_url: str = DEFAULT_OPSTRACK_URL,
    folder_uid: str | None = None,
    annotate: bool = False,
    period: Period | None = None,
) -> PushSummary:
    """Upsert every dashboard; with annotate, post an annotation per incident too.

    opstrack_url is where the incidents are read and where the dashboards' links point.
    """
    # Read opstrack first: if it is unreachable, nothing is half-pushed to Grafana.
    incidents = read_incidents(opstrack_url) if annotate else []
    summary = PushSummary()
    with grafana_errors(url), connect(url, token) as api:
        summary.dashboards = push_dashboards(api, build_all(opstrack_url), folder_uid)
        if annotate:
            push_annotations(api, incident_annotations(incidents, period), summary)
    return summary
