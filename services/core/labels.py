"""Metric label values bounded by the configured catalogs.

Every metric label that comes from an event's free text (a queue, a municipality,
a service, a ticket category) goes through a LabelCatalog: a value the
configuration knows is its own label, anything else is counted under `other`.
One sender with made-up names can then add at most one series per metric, not
one per name (Prometheus keeps every series it has seen). The store and the API
keep the real values; only the metrics fold them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OTHER = "other"


@dataclass(frozen=True)
class LabelCatalog:
    """The known values of each kind of label; build it with services.config.labels."""

    queues: frozenset[str]
    municipalities: frozenset[str]
    services: frozenset[str]
    categories: frozenset[str]

    def queue(self, value: str) -> str:
        return value if value in self.queues else OTHER

    def municipality(self, value: str) -> str:
        return value if value in self.municipalities else OTHER

    def service(self, value: str) -> str:
        return value if value in self.services else OTHER

    def category(self, value: str) -> str:
        return value if value in self.categories else OTHER


def label_catalog(
    queues: Mapping[str, str],
    services: Mapping[str, Iterable[str]],
    categories: Iterable[str],
) -> LabelCatalog:
    """The catalog from the queues file (queue -> municipality), the service catalog
    (service id -> the municipalities it serves) and the list of ticket categories.

    The municipalities are those of the queues and of the services together.
    """
    return LabelCatalog(
        queues=frozenset(queues),
        municipalities=frozenset(queues.values()).union(*services.values()),
        services=frozenset(services),
        categories=frozenset(categories),
    )


def parse_categories(raw: object) -> frozenset[str]:
    """The ticket categories of a categories file, `{"categories": [name, ...]}`."""
    if not isinstance(raw, Mapping) or set(raw) != {"categories"}:
        raise ValueError("expected one key, `categories:`, listing the ticket categories")
    names = raw["categories"]
    if not isinstance(names, list):
        raise ValueError("`categories:` must be a list of category names")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 200:
            raise ValueError(f"categories[{i}]: a category must be a name (1-200 characters)")
    return frozenset(n.strip() for n in names)
