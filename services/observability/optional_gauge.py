"""An unlabelled gauge that can be absent, which prometheus_client's Gauge cannot.

prometheus_client's Gauge reads 0 until it is set; for a timestamp that is a lie
(1970), and a worker without the period-figures lease must not export when it last
refreshed them. This one has no sample while its value is None.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class OptionalGauge(Collector):
    def __init__(
        self, name: str, documentation: str, registry: CollectorRegistry = REGISTRY
    ) -> None:
        self.name, self.documentation = name, documentation
        # One reference, replaced whole: a scrape reads either the old value or the new.
        self.value: float | None = None
        registry.register(self)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.value is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=self.value)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without it, register() would call collect() to learn the name.
        yield GaugeMetricFamily(self.name, self.documentation)
