"""Faust's aiokafka transport with a configurable fetch wait and a cheaper hand-off per message.

Faust hard-codes `fetch_max_wait_ms=1500`. Tansu, the embedded broker, answers
a fetch only when that wait runs out, so every batch would wait 1.5 s; with
100 ms the produce-to-processed p50 falls from ~1.3 s to ~40 ms (DESIGN.md).

Faust hands each fetched message to its topic's stream through
`wait_first(callback(message), suspend_flow.wait())`: four tasks and an
`asyncio.wait` per message, so that a hand-off blocked on a full stream buffer
is abandoned when a rebalance suspends the flow. The hand-off almost never
blocks (it puts into a queue that has room), so here it runs inline and only a
hand-off that does block goes through `wait_first`, with the same effect; after
one that blocked, the fetcher waits (abandoned the same way) until the stream's
buffer is down to its pressure-drop size, instead of blocking again on every
next message while the stream works through a backlog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as driver


class _Resume:
    """Await a coroutine that has already run up to its first suspension."""

    def __init__(self, coro: Coroutine[Any, Any, None], pending: Any) -> None:
        self._coro, self._pending = coro, pending

    def __await__(self) -> Generator[Any, None, None]:
        try:
            # The future the coroutine waits on, handed to the task awaiting us.
            yield self._pending
        except BaseException:
            self._coro.close()  # cancelled while waiting, e.g. by wait_first
            raise
        yield from self._coro.__await__()


async def _resume(coro: Coroutine[Any, Any, None], pending: Any) -> None:
    await _Resume(coro, pending)


async def _room(queues: list[Any]) -> None:
    while any(q.qsize() > q.pressure_drop_size for q in queues):
        await asyncio.sleep(0.01)


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover
        # faust 0.15's Consumer._drain_messages with the inline hand-off.
        callback: Any = self.callback  # returns a coroutine, driven by hand below
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
        topics: Any = self.app.topics._topic_name_index  # type: ignore[attr-defined]
        since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                self.diag.set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)
                await asyncio.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        since_yield += 1
                        if since_yield > 100:
                            await asyncio.sleep(0)
                            since_yield = 0
                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            coro = callback(message)
                            try:
                                pending = coro.send(None)
                            except StopIteration:
                                pass  # handed off without waiting: the common case
                            else:
                                await self.wait_first(
                                    _resume(coro, pending), self.suspend_flow.wait()
                                )
                                # It waited: the stream is behind and its buffer
                                # full. Let it work off half the buffer before
                                # handing it more, or every next hand-off waits too.
                                queues = [c.queue for c in topics[message.topic]]
                                await self.wait_first(_room(queues), self.suspend_flow.wait())
                            set_read_offset(tp, offset)
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


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by aiokafka when it builds its Fetcher in start(), which comes later.
        consumer._fetch_max_wait_ms = self.app.conf.opstrack_fetch_max_wait_ms
        return consumer


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
    """A faust App whose worker consumer uses the fetch wait from its settings
    and whose topics carry raw bytes (RawSchema)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conf.opstrack_fetch_max_wait_ms = fetch_max_wait_ms

    def topic(self, *topics: str, schema: Any = None, **kwargs: Any) -> Any:
        return super().topic(*topics, schema=schema or RawSchema(), **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
