"""Faust's aiokafka transport with a configurable fetch wait and a batch hand-off.

Faust hard-codes `fetch_max_wait_ms=1500`. Tansu, the embedded broker, answers
a fetch only when that wait runs out, so every batch would wait 1.5 s; with
100 ms the produce-to-processed p50 falls from ~1.3 s to ~40 ms (docs/architecture.md#the-embedded-broker-measured-facts).

Faust hands each fetched record to its topic's stream as an Event: a Message,
a stream queue, a `take` buffer, a refcount and an ack per record, and sensors
around each; about 80 µs a record, twice what storing it costs (bench/). Our
handlers take a batch of values, so here the consumer cuts each fetch into
slices of at most `batch_size` values per topic and queues them for the
topic's batch handler (`App.batch_agent`), which runs in a task of its own
like an agent, so that a topic waiting on the store holds up no other. A
slice's offsets are acked in bulk once its handler returned, i.e. after the
store transaction: only applied batches are committed (at-least-once; the
inbox drops what comes again).

Rebalances: a slice being handled counts among the consumer's unacked
messages, so faust's revocation (`wait_empty`) lets it finish and commits it
before it gives the partitions up. A queued slice is dropped, unacked, once the
flow stops or the generation changes, as faust clears its stream buffers; the
seek to the committed offsets after the rebalance fetches it again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import faust
from aiokafka.errors import KafkaError
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as driver
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

log = logging.getLogger(__name__)

Handler = Callable[[list[Any]], Awaitable[None]]

# Values a topic may have queued before the fetcher waits for its handler (as
# faust's stream_buffer_maxsize, 4096 events, in slices); it fetches again at half.
QUEUED_SLICES = 4


@dataclass
class Slice:
    """Values to hand over at once, and the offsets (first, last) they cover per partition."""

    values: list[Any] = field(default_factory=list)
    spans: list[tuple[Any, int, int]] = field(default_factory=list)


def slices(
    fetched: Sequence[tuple[Any, Sequence[Any]]],
    read: Callable[[Any], int | None],
    size: int,
) -> Iterator[Slice]:
    """Cut one fetch of a topic, (partition, records) pairs, into slices of at most `size` values.

    `read` gives a partition's read offset as faust keeps it: the last offset
    handed over, or after a seek the committed offset, the next to read. Records
    below it were handed over already; a record at it only just after a seek
    (the inbox drops the rare repeat). The first span of a partition starts
    right after the last offset handed over, so that offsets a fetch skips
    (transaction markers, compaction) are acked with the records around them
    and do not hold the commit back.
    """
    out = Slice()
    for tp, records in fetched:
        r_offset = read(tp)
        if r_offset is not None:
            records = [r for r in records if r.offset >= r_offset]
        if not records:
            continue
        first = records[0].offset if r_offset is None else min(records[0].offset, r_offset + 1)
        i = 0
        while i < len(records):
            part = records[i : i + size - len(out.values)]
            out.values.extend(r.value for r in part)
            out.spans.append((tp, first, part[-1].offset))
            first = part[-1].offset + 1
            i += len(part)
            if len(out.values) >= size:
                yield out
                out = Slice()
    if out.values:
        yield out


class _InFlight:
    """Stands for a slice among the consumer's unacked messages while it is handled."""

    acked = False
    refcount = 1


class _Lane:
    """A topic's queued slices, each with the consumer generation it was fetched in."""

    def __init__(self, handler: Handler, size: int) -> None:
        self.handler, self.size = handler, size
        self.queue: deque[tuple[Slice, int]] = deque()
        self.queued = 0  # values
        self.ready = asyncio.Event()
        self.room = asyncio.Event()
        self.room.set()
        self.task: asyncio.Task[None] | None = None

    def put(self, part: Slice, generation: int) -> None:
        self.queue.append((part, generation))
        self.queued += len(part.values)
        self.ready.set()
        if self.queued >= QUEUED_SLICES * self.size:
            self.room.clear()

    async def get(self) -> tuple[Slice, int]:
        while not self.queue:
            self.ready.clear()
            await self.ready.wait()
        part, generation = self.queue.popleft()
        self.queued -= len(part.values)
        if self.queued <= QUEUED_SLICES * self.size // 2:
            self.room.set()
        return part, generation


class _Consumer(driver.Consumer):
    _lanes: dict[str, _Lane] | None = None

    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def ack_spans(self, spans: list[tuple[Any, int, int]]) -> None:
        """`Consumer.ack` for every offset of the spans, in bulk."""
        with ack_lock:
            for tp, first, last in spans:
                committed = self._committed_offset[tp]
                if committed is not None:
                    first = max(first, committed)
                index = self._acked_index[tp]
                new = [o for o in range(first, last + 1) if o not in index]
                index.update(new)
                self._acked[tp].extend(new)
                self._n_acked += len(new)
            notify(self._waiting_for_ack)

    async def _hand_over(self, handler: Handler, part: Slice, generation: int) -> bool:
        """Hand a slice to its handler and ack it; False if a rebalance came first."""
        if not self.flow_active or self.app.consumer_generation_id != generation:
            return False
        flight = _InFlight()
        self._unacked_messages.add(flight)  # type: ignore[arg-type]
        try:
            await handler(part.values)
            if self.app.consumer_generation_id != generation:
                return False  # the partitions may be another worker's now
            self.ack_spans(part.spans)
            return True
        finally:
            flight.acked = True
            self._unacked_messages.discard(flight)  # type: ignore[arg-type]
            notify(self._waiting_for_ack)

    async def _run_lane(self, lane: _Lane) -> None:
        try:
            while True:
                part, generation = await lane.get()
                if await self._hand_over(lane.handler, part, generation):
                    await asyncio.sleep(0)  # let timers and the web page run
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The handler dead-letters what it cannot process; anything else
            # stops the worker, as a crashed agent does.
            await self.crash(exc)
            raise

    def _lane(self, topic: str) -> _Lane:
        if self._lanes is None:
            self._lanes = {}
        lane = self._lanes.get(topic)
        if lane is None:
            handlers: dict[str, tuple[Handler, int]] = self.app.batch_handlers  # type: ignore[attr-defined]
            lane = self._lanes[topic] = _Lane(*handlers[topic])
            lane.task = asyncio.ensure_future(self._run_lane(lane))
        return lane

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover
        # faust 0.15's Consumer._drain_messages and getmany, a fetch at a time.
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        commit_every = self._commit_every
        monitor = self.app.monitor
        inbound = getattr(monitor, "stream_inbound_time", None)
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records, active = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if records is None or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()  # as faust's getmany does
                    continue
                generation = self.app.consumer_generation_id
                by_topic: dict[str, list[tuple[Any, Any]]] = {}
                now = monotonic()
                for tp, recs in records.items():
                    if active is None or tp in active or tp in self._buffered_partitions:
                        by_topic.setdefault(tp.topic, []).append((tp, recs))
                        monitor.track_tp_end_offset(tp, self.highwater(tp))
                        if inbound is not None:
                            inbound[tp] = now  # else faust logs the stream as idle
                lanes = []
                for topic, fetched in by_topic.items():
                    lane = self._lane(topic)
                    for part in slices(fetched, get_read_offset, lane.size):
                        lane.put(part, generation)
                    for tp, recs in fetched:
                        r_offset = get_read_offset(tp)
                        if r_offset is None or recs[-1].offset > r_offset:
                            self._read_offset[tp] = recs[-1].offset
                    lanes.append(lane)
                if commit_every is not None and self._n_acked >= commit_every:
                    # Here, as faust does, not in a lane: the handlers go on meanwhile.
                    self._n_acked = 0
                    await self.commit()
                for lane in lanes:
                    if not lane.room.is_set():
                        # That topic's handler is behind: let it catch up before
                        # fetching more (a rebalance ends the wait).
                        await self.wait_first(lane.room.wait(), self.suspend_flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)
            for lane in (self._lanes or {}).values():
                if lane.task is not None:
                    lane.task.cancel()
            self._lanes = None


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by aiokafka when it builds its Fetcher in start(), which comes later.
        consumer._fetch_max_wait_ms = self.app.conf.opstrack_fetch_max_wait_ms
        return consumer

    async def seek_to_committed(self) -> Any:
        return await self.call_thread(self._seek_to_committed)

    async def _seek_to_committed(self) -> Any:
        """aiokafka's seek_to_committed, and partitions with no commit sought to their start.

        Records fetched while the flow is stopped (a rebalance) are dropped and
        fetched again after this seek (`_drain_messages`, as faust's getmany).
        aiokafka seeks only partitions with a commit above 0; the others kept
        the position after the dropped records, which were then never handed
        over nor committed: a partition taken over from a worker SIGKILLed
        before its first commit sat unfetched for minutes (docs/benchmarks.md,
        "Scale-out on a Kafka cluster"). Here they go back to the first offset
        the broker holds (what auto_offset_reset "earliest" picks).
        """
        consumer = self._ensure_consumer()
        committed = await consumer.seek_to_committed()
        fresh = [tp for tp, offset in committed.items() if not offset]
        if fresh:
            try:
                starts = await consumer.beginning_offsets(fresh)
            except KafkaError as exc:
                # A leader away (a broker down): aiokafka's own reset stays in charge.
                log.warning("no start offsets for %s: %r", fresh, exc)
                return committed
            # The await above lets a rebalance in: seek only what is still assigned
            # (aiokafka refuses a seek on another partition, and that crashed the fetcher).
            assigned = consumer.assignment()
            for tp, offset in starts.items():
                if tp in assigned:
                    consumer.seek(tp, offset)
        return committed


class _Transport(driver.Transport):
    Consumer = _Consumer


class RawSchema(faust.Schema[bytes, bytes]):
    """Keys and values as the bytes on the topic; opstrack's own code parses them.

    Faust's decode runs even the "raw" codec through six calls per message
    (~10% of the worker's time in the processor benchmark); this one does not.
    """

    def compile(self, app: Any, **kwargs: Any) -> Any:
        create_event = app.create_event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode


class App(faust.App):
    """A faust App whose worker consumer uses the fetch wait from its settings,
    whose topics carry raw bytes (RawSchema), and that hands fetched values to
    batch handlers (`batch_agent`)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conf.opstrack_fetch_max_wait_ms = fetch_max_wait_ms
        self.batch_handlers: dict[str, tuple[Handler, int]] = {}

    def batch_agent(self, topic: str, handler: Handler, batch_size: int) -> None:
        """Subscribe to `topic`; its values go to `handler` a fetch at a time, at most
        `batch_size` at once, acked once it returns (so it must finish the batch or raise)."""
        self.batch_handlers[topic] = (handler, batch_size)
        self.topics.add(self.topic(topic))

    def topic(self, *topics: str, schema: Any = None, **kwargs: Any) -> Any:
        return super().topic(*topics, schema=schema or RawSchema(), **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
