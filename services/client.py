"""The CLI's side of the HTTP API: reading NDJSON, posting batches, reading SLIs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx
import orjson

from services.core.events import EventError, parse_event

BATCH_TYPE = "application/cloudevents-batch+json"


class ClientError(RuntimeError):
    """A problem to show the user in one line (or a few, for a list of bad lines)."""


@dataclass(frozen=True, slots=True)
class Sent:
    accepted: int
    duplicates: int
    conflicts: int = 0  # a stored (source, id) sent again with other content: refused


def read_ndjson(stream: IO[bytes]) -> list[tuple[int, bytes]]:
    """Non-blank lines with their 1-based line numbers."""
    return [(n, line) for n, line in enumerate(stream, start=1) if line.strip()]


def check_lines(lines: list[tuple[int, bytes]], most: int = 20) -> list[object]:
    """Decode and validate every line before anything is sent, so a file goes whole or not at all."""
    values: list[object] = []
    problems: list[str] = []
    for n, line in lines:
        try:
            value = orjson.loads(line)
            parse_event(value)
            values.append(value)
        except orjson.JSONDecodeError as exc:
            problems.append(f"line {n}: malformed JSON: {exc}")
        except EventError as exc:
            problems.extend(f"line {n}: {f}: {m}" for f, m in exc.problems)
    if problems:
        shown = problems[:most]
        more = f"\n… and {len(problems) - most} more" if len(problems) > most else ""
        raise ClientError(
            f"{len(problems)} problem(s); nothing was sent:\n" + "\n".join(shown) + more
        )
    return values


def batches(values: list[object], size: int) -> Iterator[list[object]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def post_batches(
    url: str,
    values: list[object],
    size: int,
    progress: Callable[[int], None] = lambda _: None,
    token: str | None = None,
) -> Sent:
    accepted = duplicates = conflicts = 0
    headers = {"content-type": BATCH_TYPE, **bearer(token)}
    with httpx.Client(base_url=url, timeout=60) as http:
        for batch in batches(values, size):
            r = _request(http, "POST", "/v1/events", content=orjson.dumps(batch), headers=headers)
            body = r.json()
            accepted += body["accepted"]
            duplicates += body["duplicates"]
            conflicts += len(body.get("conflicts", []))
            progress(len(batch))
    return Sent(accepted, duplicates, conflicts)


def get_json(url: str, path: str, params: dict[str, Any]) -> Any:
    with httpx.Client(base_url=url, timeout=60) as http:
        return _request(
            http, "GET", path, params={k: v for k, v in params.items() if v is not None}
        ).json()


def bearer(token: str | None = None) -> dict[str, str]:
    """The Authorization header for `token`, by default OPSTRACK_API_TOKEN (if set)."""
    if token is None:
        from services.settings import Settings

        # Read afresh, not the cached settings: `opstrack demo` sets it after starting.
        secret = Settings().api_token
        token = secret.get_secret_value() if secret is not None else None
    return {"authorization": f"Bearer {token}"} if token else {}


def _request(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = kwargs.get("headers") or {}
    kwargs["headers"] = headers if "authorization" in headers else {**headers, **bearer()}
    try:
        r = http.request(method, path, **kwargs)
        # Over the source's rate limit: the server says when the batch will fit.
        while r.status_code == 429 and r.headers.get("retry-after", "").isdigit():
            time.sleep(int(r.headers["retry-after"]))
            r = http.request(method, path, **kwargs)
    except httpx.ConnectError:
        raise ClientError(
            f"cannot reach opstrack at {http.base_url} (is `opstrack up` running? see --url)"
        ) from None
    except httpx.HTTPError as exc:
        raise ClientError(f"request to {http.base_url}{path} failed: {exc}") from None
    if r.status_code == 401:
        raise ClientError(
            f"{method} {path} answered 401: {_detail(r)} "
            "(set OPSTRACK_API_TOKEN; see `opstrack token create`)"
        )
    if r.status_code >= 400:
        raise ClientError(f"{method} {path} answered {r.status_code}: {_detail(r)}")
    return r


def _detail(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    detail = str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        detail += "".join(
            f"\n  item {e['index']}: {e['field']}: {e['message']}" for e in errors[:20]
        )
    return detail


def get_bytes(url: str, path: str, params: dict[str, Any]) -> bytes:
    with httpx.Client(base_url=url, timeout=120) as http:
        return _request(http, "GET", path, params=params).content


def goal_indicators(url: str) -> list[dict[str, Any]]:
    goals = get_json(url, "/v1/goals", {})
    return [
        ind
        for council in goals["council_goals"]
        for board in council["board_goals"]
        for ind in board["indicators"]
    ]
