"""The service catalog: IT services, who owns them, whom they serve and what they depend on.

Dependencies matter for availability: an outage of a service is downtime of every
service that depends on it, directly or through others.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.core.contracts.envelope import Name

# Ids appear in events, URLs and metric labels, so they are plain slugs; "*" stays
# free to mean "every service" in a freeze's scope.
ServiceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,99}$")]


class CatalogError(ValueError):
    """The catalog is not usable; the one-line message names the service or field at fault."""


class PublicName(BaseModel):
    """What residents call the service, on the public status page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sv: Name
    en: Name | None = None  # the Swedish name is shown in English too if there is none


class Service(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ServiceId
    name: Name
    owner: Name = Field(description="a role or team, never a person's name")
    municipalities: list[Name]
    depends_on: list[ServiceId] = Field(default_factory=list)
    public_name: PublicName | None = None
    e_service: bool = Field(False, description="a citizen-facing e-service: on the status page")

    @model_validator(mode="after")
    def _e_service_named(self) -> Service:
        # The internal name may say more than residents should read; it is never shown.
        if self.e_service and self.public_name is None:
            raise ValueError(
                f"service '{self.id}' is an e-service (e_service: true): it needs a public_name"
            )
        return self

    def public(self, lang: str) -> str:
        """The public name in `lang` ("sv" or "en"); the internal name if it has none."""
        if self.public_name is None:
            return self.name
        return (self.public_name.en if lang == "en" else None) or self.public_name.sv


class Catalog(BaseModel):
    """Build it with `load_catalog`, which refuses unknown dependencies and cycles."""

    model_config = ConfigDict(frozen=True)

    services: dict[str, Service]

    def dependencies(self, service_id: str) -> frozenset[str]:
        """Everything the service needs, directly or transitively, not itself.

        An id not in the catalog (say, from an incident) has no dependencies.
        """
        return _reach(service_id, self._direct)

    def dependents(self, service_id: str) -> frozenset[str]:
        """Every service that needs this one, directly or transitively."""
        users: dict[str, list[str]] = {}
        for s in self.services.values():
            for dep in s.depends_on:
                users.setdefault(dep, []).append(s.id)
        return _reach(service_id, lambda s: users.get(s, []))

    def e_services(self) -> list[Service]:
        """The citizen-facing e-services, in catalog order."""
        return [s for s in self.services.values() if s.e_service]

    def municipalities(self) -> list[str]:
        """Every municipality any service serves, sorted."""
        return sorted({m for s in self.services.values() for m in s.municipalities})

    def _direct(self, service_id: str) -> list[str]:
        service = self.services.get(service_id)
        return service.depends_on if service is not None else []


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[Service]


def load_catalog(data: Mapping[str, Any]) -> Catalog:
    """The catalog from parsed YAML (`{"services": [...]}`), or CatalogError."""
    try:
        spec = _File.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_schema_message(exc, data)) from None
    services: dict[str, Service] = {}
    where: dict[str, int] = {}
    for i, s in enumerate(spec.services):
        if s.id in services:
            raise CatalogError(f"duplicate service id '{s.id}' (services[{where[s.id]}] and [{i}])")
        services[s.id] = s
        where[s.id] = i
    for s in spec.services:
        for dep in s.depends_on:
            if dep not in services:
                raise CatalogError(
                    f"service '{s.id}' depends on unknown service '{dep}'{_hint(dep, services)}"
                )
    cycle = _find_cycle(services)
    if cycle:
        raise CatalogError("dependency cycle: " + " -> ".join(cycle))
    return Catalog(services=services)


def _reach(start: str, step: Callable[[str], Iterable[str]]) -> frozenset[str]:
    # Iterative with a seen set, so even a hand-built catalog with a cycle terminates.
    seen: set[str] = set()
    todo = list(step(start))
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(step(s))
    seen.discard(start)
    return frozenset(seen)


def _find_cycle(services: Mapping[str, Service]) -> list[str]:
    """One cycle as a closed path (a -> b -> a), or []; sorted walks keep the message stable."""
    done: set[str] = set()
    for root in sorted(services):
        # Depth-first with an explicit stack, so a long chain cannot hit the recursion limit.
        path: list[str] = []
        stack: list[Iterator[str]] = []
        node: str | None = root
        while True:
            if node is not None and node in path:
                return [*path[path.index(node) :], node]
            if node is not None and node not in done:
                path.append(node)
                stack.append(iter(sorted(services[node].depends_on)))
            if not stack:
                break
            node = next(stack[-1], None)
            if node is None:
                done.add(path.pop())
                stack.pop()
    return []


def _hint(name: str, known: Mapping[str, Service]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _schema_message(exc: ValidationError, data: object) -> str:
    """Each problem as `services[2].owner (service 'mdm'): Field required`, on one line."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = err["loc"]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        parts.append(
            f"{path or '(file)'}{_which(loc, data)}: {err['msg'].removeprefix('Value error, ')}"
        )
    return "; ".join(parts)


def _which(loc: tuple[int | str, ...], data: object) -> str:
    # Naming the service by id saves the user counting list items in the YAML.
    if len(loc) < 2 or loc[0] != "services" or not isinstance(loc[1], int):
        return ""
    items = data.get("services") if isinstance(data, Mapping) else None
    item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
    sid = item.get("id") if isinstance(item, Mapping) else None
    return f" (service '{sid}')" if isinstance(sid, str) and len(loc) > 2 else ""
