"""Reading config/alerts.yaml, the Alertmanager mapping, from its file."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.sources.alertmanager.mapping import AlertSpec, load_alert_spec
from services.sources.mapping import MappingError


def read_alert_spec(path: Path) -> AlertSpec:
    """The spec in `path`; a MappingError naming the file says what is wrong with it."""
    try:
        return load_alert_spec(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError, MappingError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
