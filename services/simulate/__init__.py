"""Simulated event streams: a known scenario replayed into a stack, for demos and load.

A scenario is a pure function `(start, end, seed) -> Iterator[CloudEvent dict]`
yielding events in time order; the same arguments always give the same events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from services.simulate import syd_it_2022

Scenario = Callable[[date, date, int], Iterator[dict[str, Any]]]

SCENARIOS: dict[str, Scenario] = {syd_it_2022.NAME: syd_it_2022.generate}
