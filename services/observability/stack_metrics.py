"""opstrack_stack_restarts_total{child}: `opstrack up`'s restarts, exported by its API.

The supervisor serves no HTTP itself: it rewrites a small JSON file in its state dir
after each restart (write_restarts), and the API, a child that may be restarted too,
reads it on each scrape in a registry of its own (exposition): the file outlives the
API process, so the counter keeps counting across restarts of the API itself. Written
whole and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


def write_restarts(path: Path, restarts: Mapping[str, int]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"restarts": dict(restarts)}, sort_keys=True))
    os.replace(tmp, path)


def read_restarts(path: Path) -> dict[str, int] | None:
    """The counts, or None when there are none to show (no such file: not under `opstrack up`)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    counts = data["restarts"]
    return {str(child): int(n) for child, n in counts.items()}


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
