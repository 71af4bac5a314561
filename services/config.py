"""The YAML configuration files (service catalog, SLA targets), read and validated once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.core.asterisk import parse_queues
from services.core.catalog import Catalog, load_catalog
from services.core.goals import Goals, load_goals
from services.core.labels import LabelCatalog, label_catalog, parse_categories
from services.core.sla import SlaTargets
from services.core.staffing_plan import StaffingConfig, parse_config
from services.status.config import StatusConfig, load_status_config

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file is missing or wrong; the message names the file and the problem."""


class _SlaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clock: Literal["calendar", "business"] = "calendar"
    targets_hours: dict[int, float] = Field(default_factory=dict)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def _load(path: Path, loader: Callable[[Mapping[str, Any]], T]) -> T:
    """Read a YAML file with a core loader; its one-line error gets the file's name."""
    try:
        return loader(_read(path) or {})
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def catalog(config_dir: Path) -> Catalog:
    return _load(config_dir / "services.yaml", load_catalog)


def labels(config_dir: Path) -> LabelCatalog:
    """The known label values (queues.yaml, services.yaml, categories.yaml), read once
    per process: every metric label from an event's text goes through it."""
    services = catalog(config_dir).services
    return label_catalog(
        queues=_load(config_dir / "queues.yaml", parse_queues),
        services={s.id: s.municipalities for s in services.values()},
        categories=_load(config_dir / "categories.yaml", parse_categories),
    )


def sla_targets(config_dir: Path) -> SlaTargets:
    path = config_dir / "sla.yaml"
    try:
        spec = _SlaFile.model_validate(_read(path) or {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    for priority, hours in spec.targets_hours.items():
        if priority not in (1, 2, 3, 4) or hours <= 0:
            raise ConfigError(f"{path}: targets_hours.{priority}: need priority 1-4 and hours > 0")
    return SlaTargets(hours=spec.targets_hours, clock=spec.clock)


def status_page(config_dir: Path) -> StatusConfig:
    """config/status.yaml, or the defaults if there is no such file."""
    path = config_dir / "status.yaml"
    return _load(path, load_status_config) if path.exists() else StatusConfig()


def goals(config_dir: Path) -> Goals:
    return _load(config_dir / "goals.yaml", load_goals)


def staffing(config_dir: Path) -> StaffingConfig:
    """config/staffing.yaml's `staffing:` settings; the defaults when there is no file."""
    path = config_dir / "staffing.yaml"
    if not path.is_file():
        return StaffingConfig()

    def load(raw: Mapping[str, Any]) -> StaffingConfig:
        if set(raw) - {"staffing"}:
            raise ValueError("expected one key, `staffing:`")
        return parse_config(raw.get("staffing"))

    return _load(path, load)
