"""Asterisk queue_log lines → opstrack call events (pure: no I/O, no clock).

Asterisk's app_queue writes one line per queue event (docs.asterisk.org,
Operation/Logging/Queue-Logs):

    epoch|uniqueid|queue|agent|EVENT|data1|data2|…

A queue *stay* is one call (uniqueid) in one queue. It starts with ENTERQUEUE
and ends with exactly one of CONNECT (answered), ABANDON, EXITWITHTIMEOUT,
EXITWITHKEY or EXITEMPTY; the data field that holds the wait differs per event:

    ENTERQUEUE(url|callerid|position)            never read: the caller id is personal data
    CONNECT(holdtime|bridgedchanneluniqueid|ringtime)                wait = data1
    ABANDON(position|origposition|waittime)                          wait = data3
    EXITWITHTIMEOUT(position|origposition|waittime)                  wait = data3
    EXITEMPTY(position|origposition|waittime)                        wait = data3
    EXITWITHKEY(key|position|origposition|waittime)                  wait = data4
                (older versions write only key|position: wait = end - enter)

What ends an answered call's conversation (COMPLETECALLER, COMPLETEAGENT:
holdtime|calltime|origposition; TRANSFER, BLINDTRANSFER, ATTENDEDTRANSFER with
holdtime|calltime|origposition as their last three fields) gives its talk time:
a `call.completed` event, which counts no call again. Member and system lines
(RINGNOANSWER, AGENTLOGIN, PAUSE, QUEUESTART, …) are recognised and ignored on
purpose; anything else is reported with its line number.

Each stay gives `call.queued` (at ENTERQUEUE) and one terminal event (at the end
line, with the wait from the line's data, or end - enter when the data has none),
and an answered one `call.completed` (at its talk line). The terminal and
completed events carry the ENTERQUEUE time as `entered_at`: the call counts in
the hour it entered even when the end line's wait disagrees with the timestamps
(as Asterisk-based statistics tools count it); the thresholds are judged on the
line's own wait. Lines may arrive out of order, so the parser keeps per-stay state
and emits an end once its ENTERQUEUE is known; an end whose ENTERQUEUE never
comes (the log began mid-call) is emitted without `entered_at` at `flush()` (the
end of a one-off import) or when the stay expires (a follower). Event ids are
`asterisk:{uniqueid}:{queue}:{type}`, so importing the same lines again (or
resuming after a crash) only produces duplicates that the ingest API acknowledges
and does not count.

Known limit: a call that enters the *same* queue twice (say, the dialplan sends
it back after a timeout) has one id per event type there, so a second stay
that ends the same way as the first is taken for a duplicate.

The line vocabulary (end events, ignored events) is in `asterisk_log`; the
per-stay state and its snapshot are in `asterisk_stays`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.core.asterisk_log import ENDS, ENTER, IGNORED, NO_ID, TALKS, event_name, number
from services.core.asterisk_stays import End, Stay, StayKey, Talk, dump_stays, load_stays
from services.core.events import EventError, parse_event

SOURCE = "asterisk/queue_log"
UNKNOWN_MUNICIPALITY = "unknown"
MAX_WAIT_SECONDS = 86_400  # the contract's limit: a longer stay is a clock or export error
# Stays still open this long (in log time) after their last line are dropped:
# no stay can end more than a day after it entered, so their end was lost.
EXPIRE_AFTER_SECONDS = 2 * 86_400


def parse_queues(raw: object) -> dict[str, str]:
    """The mapping of a queues file, `{"queues": {asterisk queue: municipality}}`.

    YAML reads an unquoted numeric queue name (`500: Askersund`) as a number;
    it is taken as the queue's name all the same.
    """
    if not isinstance(raw, Mapping) or set(raw) != {"queues"}:
        raise ValueError(
            "expected one key, `queues:`, mapping each Asterisk queue to its municipality"
        )
    queues = raw["queues"]
    if not isinstance(queues, Mapping):
        raise ValueError("`queues:` must map each Asterisk queue to its municipality")
    out: dict[str, str] = {}
    for name, municipality in queues.items():
        if isinstance(name, bool) or not isinstance(name, str | int) or not str(name).strip():
            raise ValueError(f"queues: {name!r} is not a queue name")
        if not isinstance(municipality, str) or not 1 <= len(municipality.strip()) <= 200:
            raise ValueError(f"queues.{name}: the municipality must be a name (1-200 characters)")
        out[str(name).strip()] = municipality.strip()
    return out


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class QueueLogParser:
    """Feed queue_log lines in any order; get the opstrack events each one completes.

    `problems` holds (line number, reason) for every line skipped; reasons never
    quote a line's data, which may hold a caller's number or name.
    """

    def __init__(self, queues: Mapping[str, str], source: str = SOURCE) -> None:
        self.queues = dict(queues)
        self.source = source
        self.problems: list[tuple[int, str]] = []
        self.unmapped: set[str] = set()
        self.lines = 0
        self.blank = 0
        self.ignored = 0
        self.expired = 0
        self.emitted: dict[str, int] = {}
        self._stays: dict[StayKey, Stay] = {}
        self._newest: float | None = None
        self._swept: float | None = None

    # -- feeding ---------------------------------------------------------

    def feed(self, line_no: int, line: str) -> list[dict[str, Any]]:
        """The events completed by this line (often none)."""
        self.lines += 1
        text = line.rstrip("\r\n")
        if not text.strip():
            self.blank += 1
            return []
        fields = text.split("|")
        if len(fields) < 5:
            return self._problem(
                line_no, "not a queue_log line (epoch|uniqueid|queue|agent|EVENT|…)"
            )
        epoch = number(fields[0].strip())
        if epoch is None:
            return self._problem(line_no, "the timestamp is not a Unix time")
        event = fields[4].strip().upper()
        if event in IGNORED:
            self.ignored += 1
            return []
        if event != ENTER and event not in ENDS and event not in TALKS:
            return self._problem(line_no, f"unknown event {event_name(fields[4])}")
        uniqueid, queue = fields[1].strip(), fields[2].strip()
        if uniqueid in NO_ID or queue in NO_ID:
            return self._problem(line_no, f"{event} without a call uniqueid or queue")
        if len(uniqueid) + len(queue) > 160:
            return self._problem(line_no, f"{event}: uniqueid or queue name too long")
        data = fields[5:]
        if event == ENTER:
            out = self._enter(line_no, uniqueid, queue, epoch)
        elif event in TALKS:
            out = self._talk(line_no, uniqueid, queue, epoch, event, data)
        else:
            out = self._end(line_no, uniqueid, queue, epoch, event, data)
        out.extend(self._expire(epoch))
        return out

    def flush(self) -> list[dict[str, Any]]:
        """At the end of a one-off import: emit the ends whose ENTERQUEUE never came."""
        out: list[dict[str, Any]] = []
        for key, stay in list(self._stays.items()):
            out.extend(self._settle(key, stay, final=True))
        return out

    def feed_all(self, lines: Iterable[str], first_line: int = 1) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, line in enumerate(lines, start=first_line):
            out.extend(self.feed(n, line))
        return out

    def _enter(self, line_no: int, uniqueid: str, queue: str, epoch: float) -> list[dict[str, Any]]:
        key = (uniqueid, queue)
        stay = self._stays.get(key)
        if stay is not None and stay.entered is not None and stay.counted:
            # Its stay has ended (an answered one only awaited its talk line): the call
            # entered the queue again, a stay of its own.
            del self._stays[key]
            stay = None
        if stay is not None and stay.entered is not None:
            return self._problem(
                line_no, f"call {uniqueid} entered queue {queue} twice in one stay; ignored"
            )
        queued = self._event("call.queued", uniqueid, queue, epoch, line_no)
        if queued is None:
            return []
        if stay is None:
            stay = self._stays[key] = Stay(touched=epoch)
        stay.entered = epoch
        stay.touched = max(stay.touched, epoch)
        return [queued, *self._settle(key, stay)]

    def _end(
        self, line_no: int, uniqueid: str, queue: str, epoch: float, event: str, data: list[str]
    ) -> list[dict[str, Any]]:
        kind = ENDS[event]
        raw = data[kind.wait_field].strip() if len(data) > kind.wait_field else ""
        wait: float | None = None
        if raw:
            wait = number(raw)
            if wait is None:
                return self._problem(
                    line_no,
                    f"{event}: the wait (data{kind.wait_field + 1}) is not a number of seconds",
                )
            if wait > MAX_WAIT_SECONDS:
                return self._problem(line_no, f"{event}: a wait of {wait} s is more than a day")
        key = (uniqueid, queue)
        stay = self._stays.get(key)
        if stay is not None and stay.end is not None:
            first = stay.end
            what = "repeats" if first.event == event else f"contradicts {first.event} on"
            return self._problem(
                line_no,
                f"{event} of call {uniqueid} in queue {queue} {what} line {first.line}; ignored",
            )
        if stay is None:
            stay = self._stays[key] = Stay(touched=epoch)
        stay.end = End(event=event, at=epoch, wait=wait, line=line_no)
        stay.touched = max(stay.touched, epoch)
        return self._settle(key, stay)

    def _talk(
        self, line_no: int, uniqueid: str, queue: str, epoch: float, event: str, data: list[str]
    ) -> list[dict[str, Any]]:
        kind = TALKS[event]
        values: list[float | None] = []
        for index in (kind.hold_field, kind.talk_field):
            if not -len(data) <= index < len(data) or not data[index].strip():
                values.append(None)
                continue
            value = number(data[index].strip())
            if value is None or value > MAX_WAIT_SECONDS:
                return self._problem(
                    line_no, f"{event}: the hold or talk time is not a number of seconds"
                )
            values.append(value)
        hold, talk = values
        if talk is None:
            return self._problem(line_no, f"{event}: no talk time (calltime)")
        key = (uniqueid, queue)
        stay = self._stays.get(key)
        if stay is not None and stay.talk is not None:
            return self._problem(
                line_no,
                f"{event} of call {uniqueid} in queue {queue} repeats the end of its "
                f"conversation on line {stay.talk.line}; ignored",
            )
        if stay is None:
            stay = self._stays[key] = Stay(touched=epoch)
        stay.talk = Talk(at=epoch, wait=hold, talk=talk, line=line_no)
        stay.touched = max(stay.touched, epoch)
        return self._settle(key, stay)

    def _settle(self, key: StayKey, stay: Stay, final: bool = False) -> list[dict[str, Any]]:
        """Emit what the stay's lines complete; forget it once nothing more can come.

        An end or a talk line waits for its ENTERQUEUE (its entry time), unless
        `final`: then it is emitted without one, if its wait is known.
        """
        out: list[dict[str, Any]] = []
        ready = stay.entered is not None or final
        if stay.end is not None and not stay.counted and ready:
            out.extend(self._close(key, stay, stay.end))
            if key not in self._stays:
                return out  # the end was refused
        if stay.talk is not None and not stay.talk_counted and ready:
            out.extend(self._completed(key, stay, stay.talk))
        answered = stay.end is not None and ENDS[stay.end.event].type == "call.answered"
        done = stay.counted and (not answered or stay.talk_counted)
        if done and (stay.entered is not None or final):
            del self._stays[key]
        return out

    def _completed(self, key: StayKey, stay: Stay, talk: Talk) -> list[dict[str, Any]]:
        wait = talk.wait
        if wait is None and stay.end is not None:
            wait = stay.end.wait
        if wait is None and stay.end is not None and stay.entered is not None:
            wait = max(0.0, stay.end.at - stay.entered)
        if wait is None:
            stay.talk_counted = True  # nothing to count it by; not asked again
            return self._problem(talk.line, f"call {key[0]} in queue {key[1]}: no hold time")
        event = self._event(
            "call.completed",
            key[0],
            key[1],
            talk.at,
            talk.line,
            wait,
            None,
            stay.entered,
            talk.talk,
        )
        stay.talk_counted = True
        return [] if event is None else [event]

    def _close(self, key: StayKey, stay: Stay, end: End) -> list[dict[str, Any]]:
        """Emit the terminal event if its wait is known (the stay is dropped if refused)."""
        wait = end.wait
        if wait is None and stay.entered is not None:
            wait = end.at - stay.entered
            if wait < 0:
                del self._stays[key]
                return self._problem(
                    end.line, f"{end.event} of call {key[0]} in queue {key[1]} is before it entered"
                )
            if wait > MAX_WAIT_SECONDS:
                del self._stays[key]
                return self._problem(
                    end.line, f"{end.event}: a wait of {wait} s is more than a day"
                )
        if wait is None:
            return []  # an end without a wait: it needs its ENTERQUEUE
        kind = ENDS[end.event]
        event = self._event(
            kind.type, key[0], key[1], end.at, end.line, wait, kind.reason, stay.entered
        )
        if event is None:
            del self._stays[key]
            return []
        stay.counted = True
        return [event]

    def _event(
        self,
        type_: str,
        uniqueid: str,
        queue: str,
        epoch: float,
        line_no: int,
        wait: float | None = None,
        reason: str | None = None,
        entered: float | None = None,
        talk: float | None = None,
    ) -> dict[str, Any] | None:
        municipality = self.queues.get(queue)
        if municipality is None:
            municipality = UNKNOWN_MUNICIPALITY
            self.unmapped.add(queue)
        data: dict[str, Any] = {"call_id": uniqueid, "queue": queue, "municipality": municipality}
        if wait is not None:
            data["wait_seconds"] = wait
        if reason is not None:
            data["reason"] = reason
        if talk is not None:
            data["talk_seconds"] = talk
        if entered is not None:
            data["entered_at"] = _iso(entered)
        event = {
            "specversion": "1.0",
            "id": f"asterisk:{uniqueid}:{queue}:{type_}",
            "source": self.source,
            "type": type_,
            "time": _iso(epoch),
            "subject": uniqueid,
            "data": data,
        }
        try:  # an event the API would refuse would take its whole batch with it
            parse_event(event)
        except EventError as exc:
            self._problem(line_no, f"gives an invalid {type_}: {exc}")
            return None
        self.emitted[type_] = self.emitted.get(type_, 0) + 1
        return event

    def _problem(self, line_no: int, reason: str) -> list[dict[str, Any]]:
        self.problems.append((line_no, reason))
        return []

    def _expire(self, epoch: float) -> list[dict[str, Any]]:
        """Settle the stays untouched for long: what they know is emitted, then forgotten."""
        if self._newest is None or epoch > self._newest:
            self._newest = epoch
        newest = self._newest
        if self._swept is not None and newest - self._swept < 3600:
            return []  # sweep once per hour of log time
        self._swept = newest
        horizon = newest - EXPIRE_AFTER_SECONDS
        out: list[dict[str, Any]] = []
        for key in [k for k, s in self._stays.items() if s.touched < horizon]:
            stay = self._stays[key]
            out.extend(self._settle(key, stay, final=True))
            if key in self._stays:
                del self._stays[key]
                if not stay.counted:  # its end was lost (an answered call's talk line is not)
                    self.expired += 1
        return out

    # -- reading the state -------------------------------------------------

    def pending(self) -> int:
        """Stays not counted yet: no end seen, or an end whose wait needs the ENTERQUEUE."""
        return sum(1 for s in self._stays.values() if not s.counted)

    def summary(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "events": dict(sorted(self.emitted.items())),
            "ignored": self.ignored,
            "blank": self.blank,
            "skipped": [{"line": n, "reason": r} for n, r in self.problems],
            "unmapped_queues": sorted(self.unmapped),
            "pending_stays": self.pending(),
            "expired_stays": self.expired,
        }

    def snapshot(self) -> dict[str, Any]:
        """The open stays as plain JSON values, to resume with `restore` after a restart."""
        return dump_stays(self._newest, self._stays)

    @classmethod
    def restore(
        cls, queues: Mapping[str, str], snapshot: Mapping[str, Any], source: str = SOURCE
    ) -> QueueLogParser:
        """A parser that goes on where `snapshot()` left off; ValueError if it is not one."""
        parser = cls(queues, source)
        parser._newest, parser._stays = load_stays(snapshot)
        return parser
