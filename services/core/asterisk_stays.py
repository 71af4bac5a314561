"""A queue stay's state between its lines, and that state as plain JSON values.

The parser keeps a stay until it has seen both its ENTERQUEUE and its end, since
lines may come in any order; the snapshot lets an import resume after a restart
without losing the stays it has seen half of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.core.asterisk_log import ENDS

SNAPSHOT_VERSION = 1
StayKey = tuple[str, str]  # (uniqueid, queue)


@dataclass(slots=True)
class End:
    event: str  # CONNECT, ABANDON, …
    at: float  # epoch of the end line
    wait: float | None  # from the line's data; None when the line has none
    line: int


@dataclass(slots=True)
class Talk:
    at: float  # epoch of the COMPLETE…/…TRANSFER line
    wait: float | None  # its holdtime; None when the line has none
    talk: float  # its calltime
    line: int


@dataclass(slots=True)
class Stay:
    touched: float  # the latest epoch among its lines (for expiry)
    entered: float | None = None  # epoch of ENTERQUEUE
    end: End | None = None
    counted: bool = False  # its terminal event was emitted
    talk: Talk | None = None  # an answered call's conversation, once it ended
    talk_counted: bool = False  # its call.completed was emitted


def _restored(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{value!r} is not a number")
    return value


def dump_stays(newest: float | None, stays: Mapping[StayKey, Stay]) -> dict[str, Any]:
    """The open stays as plain JSON values, for `load_stays` to read back."""
    return {
        "version": SNAPSHOT_VERSION,
        "newest": newest,
        "stays": [
            {
                "uniqueid": uid,
                "queue": queue,
                "touched": s.touched,
                "entered": s.entered,
                "counted": s.counted,
                "end": None
                if s.end is None
                else {
                    "event": s.end.event,
                    "at": s.end.at,
                    "wait": s.end.wait,
                    "line": s.end.line,
                },
                "talk": None
                if s.talk is None
                else {
                    "at": s.talk.at,
                    "wait": s.talk.wait,
                    "talk": s.talk.talk,
                    "line": s.talk.line,
                },
                "talk_counted": s.talk_counted,
            }
            for (uid, queue), s in stays.items()
        ],
    }


def load_stays(snapshot: Mapping[str, Any]) -> tuple[float | None, dict[StayKey, Stay]]:
    """The newest epoch seen and the open stays of `dump_stays`; ValueError if it is not one."""
    stays: dict[StayKey, Stay] = {}
    try:
        if snapshot["version"] != SNAPSHOT_VERSION:
            raise ValueError(f"snapshot version {snapshot['version']!r} is not {SNAPSHOT_VERSION}")
        newest = snapshot["newest"]
        restored_newest = None if newest is None else _restored(newest)
        for s in snapshot["stays"]:
            end = s["end"]
            talk = s.get("talk")  # absent from snapshots written before talk times
            stay = Stay(
                touched=_restored(s["touched"]),
                entered=None if s["entered"] is None else _restored(s["entered"]),
                counted=s["counted"] is True,
                end=None
                if end is None
                else End(
                    event=str(end["event"]),
                    at=_restored(end["at"]),
                    wait=None if end["wait"] is None else _restored(end["wait"]),
                    line=int(end["line"]),
                ),
                talk=None
                if talk is None
                else Talk(
                    at=_restored(talk["at"]),
                    wait=None if talk["wait"] is None else _restored(talk["wait"]),
                    talk=_restored(talk["talk"]),
                    line=int(talk["line"]),
                ),
                talk_counted=s.get("talk_counted") is True,
            )
            if stay.end is not None and stay.end.event not in ENDS:
                raise ValueError(f"unknown end event {stay.end.event!r}")
            stays[(str(s["uniqueid"]), str(s["queue"]))] = stay
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # int("x"), int(inf)
        raise ValueError(f"not a queue_log parser snapshot: {exc!r}") from None
    return restored_newest, stays
