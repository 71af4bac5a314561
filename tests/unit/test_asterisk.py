"""Tests for services.sources.asterisk.parse: Asterisk queue_log lines → opstrack call events.

The queue_log below is written by hand the way Asterisk's app_queue writes it
(epoch|uniqueid|queue|agent|EVENT|data…), on Monday 2022-05-02 between 07:53
and 09:51 UTC. Its service levels per hour are worked out by hand in the
comments and compared with what the produced events fold into.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from services.core.calls import BucketKey, CallBucket, CallRules, fold_calls, total
from services.core.events import parse_event
from services.core.queues import parse_queues
from services.core.sli import call_figures
from services.settings import CONFIG_DIR
from services.sources.asterisk.parse import (
    EXPIRE_AFTER_SECONDS,
    SOURCE,
    QueueLogParser,
)
from tests.builders import call_data, envelope
from tests.parsed import parse_call

QUEUES = {
    "askersund": "Askersund",
    "hallsberg": "Hallsberg",
    "laxa": "Laxå",
    "lekeberg": "Lekeberg",
    "gemensam": "shared",
}

# 1651478400 is 2022-05-02 08:00:00 UTC; 1651482000 is 09:00:00.
QUEUE_LOG = """\
1651478000|NONE|NONE|NONE|QUEUESTART|
1651478005|NONE|askersund|PJSIP/201|ADDMEMBER|
1651478006|NONE|NONE|Agent/201|AGENTLOGIN|PJSIP/201
1651478007|NONE|askersund|PJSIP/202|PAUSE|lunch
1651478008|NONE|askersund|PJSIP/202|UNPAUSE|
1651478410|1651478410.101|askersund|NONE|ENTERQUEUE||0701234567|1
1651478425|1651478410.101|askersund|PJSIP/201|RINGNOANSWER|15000
1651478428|1651478410.101|askersund|PJSIP/202|CONNECT|18|1651478425.102|3
1651478700|1651478700.103|askersund|NONE|ENTERQUEUE||0709876543|1
1651478745|1651478700.103|askersund|PJSIP/201|CONNECT|45|1651478740.104|5
1651478789|1651478410.101|askersund|PJSIP/202|COMPLETECALLER|18|361|1
1651478900|1651478700.103|askersund|PJSIP/201|COMPLETEAGENT|45|155|1
1651479000|1651479000.105|hallsberg|NONE|ENTERQUEUE||0582111111|1
1651479003|1651479000.105|hallsberg|NONE|ABANDON|1|1|3
1651479120|1651479120.106|hallsberg|NONE|ENTERQUEUE||0582222222|1
1651479160|1651479120.106|hallsberg|NONE|ABANDON|1|1|40
1651479300|1651479300.107|laxa|NONE|ENTERQUEUE||0584333333|1
1651479420|1651479300.107|laxa|NONE|EXITWITHTIMEOUT|1|1|120
1651479480|1651479480.108|lekeberg|NONE|ENTERQUEUE||0585444444|1
1651479492|1651479480.108|lekeberg|NONE|EXITWITHKEY|1|1|1|12
1651479493|1651479480.108|gemensam|NONE|ENTERQUEUE||0585444444|2
1651479500|1651479480.108|gemensam|PJSIP/203|CONNECT|7|1651479495.109|5
1651479600|1651479600.110|gemensam|NONE|ENTERQUEUE||0586555555|1
1651479607|1651479600.110|gemensam|NONE|EXITEMPTY|1|1|7
1651479900|1651479900.111|gemensam|NONE|ENTERQUEUE||0587666666|1
1651479915|1651479900.111|gemensam|PJSIP/203|CONNECT|15|1651479910.112|4
1651480000|1651479900.111|gemensam|PJSIP/203|BLINDTRANSFER|2000|from-internal|15|85|1
1651480200|1651480200.113|askersund|NONE|ENTERQUEUE||0588777777|1
1651480260|1651480200.113|askersund|PJSIP/201|CONNECT|60|1651480240.114|20
1651480400|1651480200.113|askersund|PJSIP/201|ATTENDEDTRANSFER|BRIDGE|1651480380.115|60|140|1
1651481990|1651481990.116|laxa|NONE|ENTERQUEUE||0589888888|1
1651482015|1651481990.116|laxa|PJSIP/204|CONNECT|25|1651482010.117|5
1651482600|1651482600.118|askersund|NONE|ENTERQUEUE||0701111111|1
1651482605|1651482600.118|askersund|PJSIP/202|CONNECT|5|1651482601.119|4
this is not a queue_log line
16514826xx|1651482610.120|askersund|NONE|ENTERQUEUE||0702222222|1
1651482620|1651482620.121|askersund|NONE|CALLBACKREQUEST|0703333333
1651482630|NONE|askersund|PJSIP/202|CONNECT|5|1651482625.122|1
1651483230|1651483200.122|lekeberg|NONE|ABANDON|2|1|30
1651483200|1651483200.122|lekeberg|NONE|ENTERQUEUE||0704444444|1
1651483850|1651483800.123|lekeberg|NONE|EXITWITHKEY|0|1
1651483800|1651483800.123|lekeberg|NONE|ENTERQUEUE||0705555555|1
1651484400|1651484400.124|vaxel|NONE|ENTERQUEUE||0706666666|1
1651484410|1651484400.124|vaxel|PJSIP/210|CONNECT|10|1651484405.125|5
1651482640|1651482610.120|askersund|NONE|ABANDON|1|1|soon
1651485000|1651485000.127|askersund|NONE|ENTERQUEUE||0708888888|1
1651485010|1651485000.127|askersund|PJSIP/201|RINGNOANSWER|10000
1651485020|NONE|NONE|Agent/201|AGENTLOGOFF|PJSIP/201|7014
1651485030|NONE|askersund|PJSIP/201|REMOVEMEMBER|
1651485040|NONE|NONE|NONE|CONFIGRELOAD|
"""
# Line by line (numbers as in the file):
#  1-5  queue system, member and agent lines: ignored on purpose
#  6-8  A askersund: entered 08:00:10, a ring not answered, answered after 18 s
#  9-12 B askersund: answered after 45 s; 11-12 A and B end talking: A talked 361 s
#       (COMPLETECALLER holdtime|calltime), B 155 s (COMPLETEAGENT)
# 13-14 C hallsberg: abandoned after 3 s (a short abandon, < 5 s)
# 15-16 D hallsberg: abandoned after 40 s
# 17-18 E laxa: timed out after 120 s
# 19-22 F lekeberg: left with a key after 12 s (EXITWITHKEY key|position|origposition|waittime),
#       then the same call (same uniqueid) entered gemensam and was answered after 7 s
# 23-24 G gemensam: put out after 7 s because no member was reachable
# 25-27 H gemensam: answered after 15 s, blind-transferred after talking 85 s
# 28-30 I askersund: answered after exactly 60 s, attended-transferred after 140 s
#       (ATTENDEDTRANSFER BRIDGE|bridge|holdtime|calltime|origposition)
# 31-32 J laxa: entered 08:59:50, answered 09:00:15 after 25 s: it belongs to hour 08
# 33-34 K askersund: 09:10:00, answered after 5 s
# 35-38 skipped: not a line, a bad timestamp, an unknown event, CONNECT without a call
# 39-40 L lekeberg: its ABANDON (30 s) is written before its ENTERQUEUE
# 41-42 M lekeberg: an older Asterisk's EXITWITHKEY (key|position, no wait) before its
#       ENTERQUEUE: the wait is end - enter = 09:30:50 - 09:30:00 = 50 s
# 43-44 N vaxel: a queue not in the queues file, answered after 10 s
# 45    skipped: ABANDON whose wait is not a number (of the call whose ENTERQUEUE was line 36)
# 46-47 P askersund: still in the queue when the file ends: not counted
# 48-50 agent, member and reload lines: ignored on purpose

CALLER_NUMBERS = [
    "0701234567", "0709876543", "0582111111", "0582222222", "0584333333", "0585444444",
    "0586555555", "0587666666", "0588777777", "0589888888", "0701111111", "0702222222",
    "0703333333", "0704444444", "0705555555", "0706666666", "0708888888",
]  # fmt: skip

HOUR_08 = 1651478400
HOUR_09 = 1651482000

# Hour 08 (entered 08:00:00-08:59:59): A 18 ans, B 45 ans, C 3 ab (short), D 40 ab,
# E 120 exit, F 12 exit, F' 7 ans, G 7 exit, H 15 ans, I 60 ans, J 25 ans.
#   offered 11; answered 6; abandoned 2, short 1; exited 3
#   within 20 s: A, F', H = 3; within 60 s: A, B, F', H, I, J = 6
#   considered = offered - short = 10: service level 3/10 and 6/10;
#   abandon rate (2 - 1)/10; ASA (18+45+7+15+60+25)/6 = 170/6;
#   average wait (170 + 3 + 40 + 120 + 12 + 7)/11 = 352/11 = 32
EXPECTED_08 = {
    "offered": 11,
    "answered": 6,
    "abandoned": 2,
    "short_abandoned": 1,
    "exited": 3,
    "answered_within": {"20": 3, "60": 6},
    "service_level": {"20": 0.3, "60": 0.6},
    "abandon_rate": 0.1,
    "asa_seconds": 170 / 6,
    "avg_wait_seconds": 32.0,
    # talk ends: A 361, B 155, H 85, I 140 -> 4 talked, AHT 741/4
    "talked": 4,
    "aht_seconds": 185.25,
    # Asterisk's: abandoned within 20 s: C; within 60 s: C, D.
    #   SL = within / answered: 3/6, 6/6; SL2 = (within + ab. within) / (6 + 2): 4/8, 8/8
    "abandoned_within": {"20": 1, "60": 2},
    "asterisk_sl": {"20": 0.5, "60": 1.0},
    "asterisk_sl2": {"20": 0.5, "60": 1.0},
}
# Hour 09: K 5 ans, L 30 ab, M 50 exit, N 10 ans (P has not ended).
#   offered 4; answered 2; abandoned 1, short 0; exited 1; within 20 and 60 s: K, N = 2
#   considered 4: service level 2/4 both; abandon rate 1/4; ASA 15/2; average wait 95/4
EXPECTED_09 = {
    "offered": 4,
    "answered": 2,
    "abandoned": 1,
    "short_abandoned": 0,
    "exited": 1,
    "answered_within": {"20": 2, "60": 2},
    "service_level": {"20": 0.5, "60": 0.5},
    "abandon_rate": 0.25,
    "asa_seconds": 7.5,
    "avg_wait_seconds": 23.75,
    "talked": 0,
    "aht_seconds": None,
    # L abandoned after 30 s: within 60 s, not 20. SL 2/2; SL2 (2 + 0)/3 and (2 + 1)/3
    "abandoned_within": {"20": 0, "60": 1},
    "asterisk_sl": {"20": 1.0, "60": 1.0},
    "asterisk_sl2": {"20": 2 / 3, "60": 1.0},
}
EXPECTED_PROBLEMS = [
    (35, "not a queue_log line (epoch|uniqueid|queue|agent|EVENT|…)"),
    (36, "the timestamp is not a Unix time"),
    (37, "unknown event 'CALLBACKREQUEST'"),
    (38, "CONNECT without a call uniqueid or queue"),
    (45, "ABANDON: the wait (data3) is not a number of seconds"),
]


def parse(
    text: str, queues: dict[str, str] = QUEUES
) -> tuple[list[dict[str, Any]], QueueLogParser]:
    parser = QueueLogParser(queues)
    events = parser.feed_all(text.splitlines(keepends=True))
    return events, parser


def by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an id was produced twice"
    return {e["id"]: e for e in events}


def figures(events: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Service levels per hour, summed over queues, as the read API computes them."""
    buckets = fold_calls([parse_call(e) for e in events], CallRules())
    hours = sorted({k.hour for k in buckets})
    return {
        h: call_figures(total(b for k, b in buckets.items() if k.hour == h), (20, 60))
        for h in hours
    }


def test_hand_worked_service_levels_per_hour() -> None:
    events, _ = parse(QUEUE_LOG)
    got = figures(events)
    assert set(got) == {HOUR_08, HOUR_09}
    for hour, expected in ((HOUR_08, EXPECTED_08), (HOUR_09, EXPECTED_09)):
        assert flat(got[hour]) == pytest.approx(flat(expected)), hour


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """{"service_level": {"20": x}} → {"service_level.20": x}, for pytest.approx."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, dict):
            out.update({f"{k}.{t}": x for t, x in v.items()})
        else:
            out[k] = v
    return out


def test_every_event_kind_becomes_the_right_cloudevent() -> None:
    events = by_id(parse(QUEUE_LOG)[0])
    assert len(events) == 35  # 16 stays entered; 15 ended; 4 answered ones ended talking
    counts: dict[str, int] = {}
    for e in events.values():
        counts[e["type"]] = counts.get(e["type"], 0) + 1
        parse_event(e)  # each one is a valid event
        assert e["source"] == SOURCE
        assert e["subject"] == e["data"]["call_id"]
        assert e["id"] == f"asterisk:{e['data']['call_id']}:{e['data']['queue']}:{e['type']}"
    assert counts == {
        "call.queued": 16,
        "call.answered": 8,
        "call.abandoned": 3,
        "call.exited": 4,
        "call.completed": 4,
    }

    def one(uid: str, queue: str, kind: str) -> dict[str, Any]:
        return events[f"asterisk:{uid}:{queue}:{kind}"]

    assert one("1651478410.101", "askersund", "call.queued") == envelope(
        "call.queued",
        call_data("1651478410.101", "askersund", "Askersund"),
        id="asterisk:1651478410.101:askersund:call.queued",
        source="asterisk/queue_log",
        time="2022-05-02T08:00:10+00:00",
        subject="1651478410.101",
    )
    # CONNECT: answered at the CONNECT line, wait = holdtime (data1), entered at ENTERQUEUE
    answered = one("1651478410.101", "askersund", "call.answered")
    assert answered["time"] == "2022-05-02T08:00:28+00:00"
    assert answered["data"] == {
        "call_id": "1651478410.101",
        "queue": "askersund",
        "municipality": "Askersund",
        "wait_seconds": 18,
        "entered_at": "2022-05-02T08:00:10+00:00",
    }
    # COMPLETECALLER: the conversation ended, talk = calltime (data2), wait = holdtime
    done = one("1651478410.101", "askersund", "call.completed")
    assert done["time"] == "2022-05-02T08:06:29+00:00"
    assert done["data"] == {
        "call_id": "1651478410.101",
        "queue": "askersund",
        "municipality": "Askersund",
        "wait_seconds": 18,
        "talk_seconds": 361,
        "entered_at": "2022-05-02T08:00:10+00:00",
    }
    talks = {
        (uid, q): one(uid, q, "call.completed")["data"]["talk_seconds"]
        for uid, q in [
            ("1651478700.103", "askersund"),  # COMPLETEAGENT
            ("1651479900.111", "gemensam"),  # BLINDTRANSFER
            ("1651480200.113", "askersund"),  # ATTENDEDTRANSFER
        ]
    }
    assert list(talks.values()) == [155, 85, 140]
    # ABANDON: wait = data3
    c = one("1651479000.105", "hallsberg", "call.abandoned")
    assert (c["time"], c["data"]["wait_seconds"]) == ("2022-05-02T08:10:03+00:00", 3)
    # EXITWITHTIMEOUT, EXITWITHKEY (data4), EXITEMPTY
    e = one("1651479300.107", "laxa", "call.exited")["data"]
    assert (e["reason"], e["wait_seconds"], e["municipality"]) == ("timeout", 120, "Laxå")
    f = one("1651479480.108", "lekeberg", "call.exited")["data"]
    assert (f["reason"], f["wait_seconds"]) == ("key", 12)
    g = one("1651479600.110", "gemensam", "call.exited")["data"]
    assert (g["reason"], g["wait_seconds"], g["municipality"]) == ("empty", 7, "shared")
    # the same call in a second queue is a stay of its own
    f2 = one("1651479480.108", "gemensam", "call.answered")
    assert (f2["data"]["wait_seconds"], f2["subject"]) == (7, "1651479480.108")
    # an older EXITWITHKEY without a wait: end - enter
    m = one("1651483800.123", "lekeberg", "call.exited")
    assert (m["time"], m["data"]["reason"], m["data"]["wait_seconds"]) == (
        "2022-05-02T09:30:50+00:00",
        "key",
        50,
    )
    # P has not ended
    assert not any(k.startswith("asterisk:1651485000.127:") and "queued" not in k for k in events)


def test_a_call_across_the_hour_counts_in_the_hour_it_entered() -> None:
    events = by_id(parse(QUEUE_LOG)[0])
    j = events["asterisk:1651481990.116:laxa:call.answered"]
    assert j["time"] == "2022-05-02T09:00:15+00:00"
    assert j["data"]["wait_seconds"] == 25
    buckets = fold_calls([parse_call(j)], CallRules())
    assert [k.hour for k in buckets] == [HOUR_08]


def test_malformed_and_unknown_lines_are_reported_with_their_numbers() -> None:
    _, parser = parse(QUEUE_LOG)
    assert parser.problems == EXPECTED_PROBLEMS
    summary = parser.summary()
    assert summary["skipped"] == [{"line": n, "reason": r} for n, r in EXPECTED_PROBLEMS]
    assert summary["lines"] == 50
    assert summary["ignored"] == 10  # lines 1-5, 7, 47-50


def test_an_unmapped_queue_keeps_its_name_and_is_listed() -> None:
    events, parser = parse(QUEUE_LOG)
    n = by_id(events)["asterisk:1651484400.124:vaxel:call.answered"]
    assert n["data"] == {
        "call_id": "1651484400.124",
        "queue": "vaxel",
        "municipality": "unknown",
        "wait_seconds": 10,
        "entered_at": "2022-05-02T09:40:00+00:00",
    }
    assert parser.unmapped == {"vaxel"}
    assert parser.summary()["unmapped_queues"] == ["vaxel"]
    others = [e for e in events if e["data"]["queue"] != "vaxel"]
    assert all(e["data"]["municipality"] == QUEUES[e["data"]["queue"]] for e in others)


def test_a_stay_without_its_end_is_pending_and_not_counted() -> None:
    _, parser = parse(QUEUE_LOG)
    assert parser.pending() == 1  # P
    assert parser.summary()["pending_stays"] == 1
    # Without its ENTERQUEUE, M's end has no wait: M waits too, and is not counted.
    lines = [line for n, line in enumerate(QUEUE_LOG.splitlines(), 1) if n != 42]
    events, parser = parse("\n".join(lines))
    assert parser.pending() == 2
    assert not any(e["data"]["call_id"] == "1651483800.123" for e in events)


def test_no_caller_number_in_any_event_problem_summary_or_state() -> None:
    events, parser = parse(QUEUE_LOG)
    text = json.dumps([events, parser.problems, parser.summary(), parser.snapshot()])
    for number in CALLER_NUMBERS:
        assert number in QUEUE_LOG
        assert number not in text
    assert "lunch" not in text  # nor other free text of the data fields


@pytest.mark.parametrize("seed", range(8))
def test_lines_in_any_order_give_the_same_events(seed: int) -> None:
    in_order, parser = parse(QUEUE_LOG)
    numbered = list(enumerate(QUEUE_LOG.splitlines(), start=1))
    random.Random(seed).shuffle(numbered)
    shuffled = QueueLogParser(QUEUES)
    events = [e for n, line in numbered for e in shuffled.feed(n, line)]
    assert by_id(events) == by_id(in_order)
    assert sorted(shuffled.problems) == EXPECTED_PROBLEMS
    assert shuffled.pending() == parser.pending() == 1


def test_importing_twice_gives_the_same_ids() -> None:
    first, _ = parse(QUEUE_LOG)
    second, _ = parse(QUEUE_LOG)
    assert first == second


@pytest.mark.parametrize("cut", [0, 6, 7, 20, 39, 41, 44, 50])
def test_a_snapshot_resumes_where_it_left_off(cut: int) -> None:
    lines = QUEUE_LOG.splitlines()
    whole, parser = parse(QUEUE_LOG)
    before = QueueLogParser(QUEUES)
    events = before.feed_all(lines[:cut])
    saved = json.loads(json.dumps(before.snapshot()))  # as the follower stores it
    after = QueueLogParser.restore(QUEUES, saved)
    events += after.feed_all(lines[cut:], first_line=cut + 1)
    assert events == whole
    assert after.pending() == parser.pending()


def test_restore_refuses_what_is_not_a_snapshot() -> None:
    with pytest.raises(ValueError, match="snapshot"):
        QueueLogParser.restore(QUEUES, {"stays": []})
    with pytest.raises(ValueError, match="version"):
        QueueLogParser.restore(QUEUES, {"version": 99, "newest": None, "stays": []})
    bad = {"version": 1, "newest": None, "stays": [{"uniqueid": "1.1", "queue": "q"}]}
    with pytest.raises(ValueError, match="snapshot"):
        QueueLogParser.restore(QUEUES, bad)


def test_contradicting_and_repeated_ends_are_reported() -> None:
    text = (
        "1651478428|1.1|laxa|PJSIP/1|CONNECT|8|1.2|3\n"
        "1651478500|1.1|laxa|NONE|ABANDON|1|1|80\n"
        "1651478428|1.1|laxa|PJSIP/1|CONNECT|8|1.2|3\n"
        "1651478420|1.1|laxa|NONE|ENTERQUEUE||0701234567|1\n"
        "1651478420|1.1|laxa|NONE|ENTERQUEUE||0701234567|1\n"
    )
    events, parser = parse(text)
    # The CONNECT waits for its ENTERQUEUE (its entry time): both come at line 4.
    assert [e["type"] for e in events] == ["call.queued", "call.answered", "call.queued"]
    assert parser.problems == [
        (2, "ABANDON of call 1.1 in queue laxa contradicts CONNECT on line 1; ignored"),
        (3, "CONNECT of call 1.1 in queue laxa repeats line 1; ignored"),
    ]
    # Line 5 started a new stay (a call may enter a queue again): its queued event has
    # the same id as line 4's, so the API takes it for a duplicate; it is still pending.
    assert events[0]["id"] == events[2]["id"]
    assert parser.pending() == 1


def test_impossible_waits_are_reported() -> None:
    text = (
        "1651478400|2.1|laxa|NONE|ENTERQUEUE||0701234567|1\n"
        "1651478300|2.1|laxa|NONE|EXITWITHKEY|0|1\n"  # ends before it entered
        "1651478400|2.2|laxa|NONE|ABANDON|1|1|90000\n"  # more than a day
        "1651478400|2.3|laxa|NONE|ABANDON|1|1|-4\n"
    )
    events, parser = parse(text)
    assert [e["type"] for e in events] == ["call.queued"]
    assert parser.problems == [
        (2, "EXITWITHKEY of call 2.1 in queue laxa is before it entered"),
        (3, "ABANDON: a wait of 90000 s is more than a day"),
        (4, "ABANDON: the wait (data3) is not a number of seconds"),
    ]
    assert parser.pending() == 0


def test_stays_whose_end_never_comes_expire_in_log_time() -> None:
    later = 1651478400 + EXPIRE_AFTER_SECONDS + 3600
    text = (
        "1651478400|3.1|laxa|NONE|ENTERQUEUE||0701234567|1\n"
        f"{later}|3.2|laxa|NONE|ENTERQUEUE||0701234567|1\n"
    )
    _, parser = parse(text)
    assert parser.pending() == 1
    assert parser.summary()["expired_stays"] == 1


def test_blank_lines_and_crlf_are_fine() -> None:
    text = "\r\n1651478400|4.1|laxa|NONE|ENTERQUEUE||0701234567|1\r\n\n"
    events, parser = parse(text)
    assert [e["id"] for e in events] == ["asterisk:4.1:laxa:call.queued"]
    assert parser.problems == []
    assert parser.summary()["blank"] == 2


def test_parse_queues() -> None:
    assert parse_queues({"queues": {"askersund": "Askersund", 500: " shared "}}) == {
        "askersund": "Askersund",
        "500": "shared",
    }
    cases: list[tuple[object, str]] = [
        (None, "one key"),
        ({"queue": {}}, "one key"),
        ({"queues": ["askersund"]}, "must map"),
        ({"queues": {"askersund": None}}, "queues.askersund"),
        ({"queues": {"askersund": ""}}, "queues.askersund"),
        ({"queues": {None: "x"}}, "not a queue name"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            parse_queues(bad)


def test_the_shipped_queues_file() -> None:
    import yaml

    raw = yaml.safe_load((CONFIG_DIR / "queues.yaml").read_text(encoding="utf-8"))
    assert parse_queues(raw) == QUEUES


# End rows whose wait disagrees with their ENTERQUEUE: the call counts in the hour of
# its ENTERQUEUE (as Asterisk statistics tools count it), its thresholds on the row's wait.
#   9.1 laxa entered 08:59:50; CONNECT 09:00:30 says holdtime 5 (the timestamps say 40);
#       COMPLETECALLER 09:02:10 says 5|100: talked 100 s. Time minus wait: 09:00:25.
#   9.2 laxa entered 09:59:50; ABANDON 10:00:10 says 2 s (the timestamps say 20).
DISAGREEING = """\
1651481990|9.1|laxa|NONE|ENTERQUEUE||0701234567|1
1651482030|9.1|laxa|PJSIP/204|CONNECT|5|9.1b|3
1651482130|9.1|laxa|PJSIP/204|COMPLETECALLER|5|100|1
1651485590|9.2|laxa|NONE|ENTERQUEUE||0707654321|1
1651485610|9.2|laxa|NONE|ABANDON|1|1|2
"""


def test_a_call_counts_in_its_enterqueue_hour_even_when_the_end_row_disagrees() -> None:
    expected = {
        BucketKey(HOUR_08, "laxa", "Laxå"): CallBucket(
            offered=1,
            answered=1,
            answered_within={20: 1, 60: 1},
            wait_answered_ms=5_000,
            wait_offered_ms=5_000,
            talked=1,
            talk_ms=100_000,
        ),
        BucketKey(HOUR_09, "laxa", "Laxå"): CallBucket(
            offered=1,
            abandoned=1,
            short_abandoned=1,
            abandoned_within={20: 1, 60: 1},
            wait_offered_ms=2_000,
        ),
    }
    lines = DISAGREEING.splitlines()
    for order in (lines, lines[::-1], [lines[i] for i in (2, 4, 1, 0, 3)]):
        events, parser = parse("\n".join(order))
        assert fold_calls([parse_call(e) for e in events], CallRules()) == expected
        assert parser.pending() == 0 and not parser.problems


def test_ends_whose_enterqueue_never_comes_are_flushed_without_entry_time() -> None:
    # The log began mid-call: only the end rows. They wait for their ENTERQUEUE, and
    # at the end of the import count by time minus wait: 09:00:25 and 10:00:08.
    no_enter = "\n".join(line for line in DISAGREEING.splitlines() if "ENTERQUEUE" not in line)
    events, parser = parse(no_enter)
    assert events == []
    assert parser.pending() == 2
    flushed = parser.flush()
    assert sorted(e["type"] for e in flushed) == [
        "call.abandoned",
        "call.answered",
        "call.completed",
    ]
    assert all("entered_at" not in e["data"] for e in flushed)
    buckets = fold_calls([parse_call(e) for e in flushed], CallRules())
    assert sorted(k.hour for k in buckets) == [HOUR_09, HOUR_09 + 3600]
    assert parser.pending() == 0
