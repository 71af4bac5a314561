"""opstrack_stack_restarts_total{child}: `opstrack up`'s restarts, exported by its API.

Read from the supervisor's state file on each scrape (services/stack/statefile.py),
in a registry of its own: the file outlives the API process, so the counter keeps
counting across restarts of the API itself.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from services.stack.statefile import read_restarts


class _Restarts(Collector):
    def __init__(self, path: Path) -> None:
        self._path = path

    def collect(self) -> list[CounterMetricFamily]:
        counts = read_restarts(self._path)
        if counts is None:
            return []
        family = CounterMetricFamily(
            "opstrack_stack_restarts",
            "Children of `opstrack up` (api, worker, broker) restarted after they died.",
            labels=["child"],
        )
        for child, n in sorted(counts.items()):
            family.add_metric([child], n)
        return [family]


def exposition(state_file: Path) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Restarts(state_file))
    return generate_latest(registry)
