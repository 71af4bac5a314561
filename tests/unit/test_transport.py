"""The worker's batch hand-off: how a fetch is cut into slices, the offsets each acks, the queue."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from services.processor.transport import QUEUED_SLICES, Slice, _Lane, slices


class Record(NamedTuple):
    offset: int
    value: bytes


def fetch(tp: str, *offsets: int) -> tuple[str, list[Record]]:
    return tp, [Record(o, f"{tp}@{o}".encode()) for o in offsets]


def test_a_fetch_is_cut_into_slices_of_at_most_the_batch_size() -> None:
    fetched = [fetch("p0", 10, 11, 12), fetch("p1", 0, 1, 2, 3, 4)]
    got = list(slices(fetched, lambda tp: {"p0": 9, "p1": None}[tp], 3))
    assert [s.values for s in got] == [
        [b"p0@10", b"p0@11", b"p0@12"],
        [b"p1@0", b"p1@1", b"p1@2"],
        [b"p1@3", b"p1@4"],
    ]
    assert [s.spans for s in got] == [[("p0", 10, 12)], [("p1", 0, 2)], [("p1", 3, 4)]]


def test_a_slice_takes_several_partitions_when_they_fit() -> None:
    fetched = [fetch("p0", 5, 6), fetch("p1", 7), fetch("p2", 1, 2)]
    got = list(slices(fetched, lambda tp: None, 4))
    assert [s.values for s in got] == [[b"p0@5", b"p0@6", b"p1@7", b"p2@1"], [b"p2@2"]]
    assert [s.spans for s in got] == [[("p0", 5, 6), ("p1", 7, 7), ("p2", 1, 1)], [("p2", 2, 2)]]


def test_records_below_the_read_offset_are_not_handed_over_again() -> None:
    # The read offset is the last offset handed over (the record at it is not
    # fetched twice, except just after a seek: see the next test).
    got = list(slices([fetch("p0", 2, 3, 4, 5)], lambda tp: 3, 10))
    assert [s.values for s in got] == [[b"p0@3", b"p0@4", b"p0@5"]]
    assert got[0].spans == [("p0", 3, 5)]
    assert list(slices([fetch("p0", 1, 2)], lambda tp: 3, 10)) == []


def test_after_a_seek_the_record_at_the_committed_offset_is_handed_over() -> None:
    # After a rebalance faust sets the read offset to the committed offset, the
    # next to read: that record was never applied and must not be skipped.
    got = list(slices([fetch("p0", 10, 11)], lambda tp: 10, 10))
    assert [s.values for s in got] == [[b"p0@10", b"p0@11"]]
    assert got[0].spans == [("p0", 10, 11)]


def test_offsets_a_fetch_skips_are_acked_with_the_records_around_them() -> None:
    # 21-22 and 25 hold no records (transaction markers, compaction): left unacked,
    # the partition's committed offset could never pass them.
    got = list(slices([fetch("p0", 23, 24, 26)], lambda tp: 20, 2))
    assert [s.values for s in got] == [[b"p0@23", b"p0@24"], [b"p0@26"]]
    assert [s.spans for s in got] == [[("p0", 21, 24)], [("p0", 25, 26)]]


def test_a_lane_asks_the_fetcher_to_wait_when_full_and_to_go_on_at_half() -> None:
    async def main() -> list[bool]:
        async def handler(values: list[bytes]) -> None:
            pass

        lane = _Lane(handler, 10)  # full at 4 slices of 10 values, room again at 20
        room = []
        for _ in range(4):
            lane.put(Slice(values=[b"v"] * 10), generation=1)
            room.append(lane.room.is_set())
        for _ in range(3):
            part, generation = await asyncio.wait_for(lane.get(), timeout=5)
            assert (len(part.values), generation) == (10, 1)
            room.append(lane.room.is_set())
        return room

    assert QUEUED_SLICES == 4
    # queued after each put: 10 20 30 40 (full); after each get: 30 20 (half) 10
    assert asyncio.run(main()) == [True, True, True, False, False, True, True]
