"""Reading a ticket system's webhook mapping, config/webhooks/<source>.yaml, from its file."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.sources.mapping import MappingError
from services.sources.ticket_webhooks.mapping import WebhookSpec, load_webhook_spec

# The source names a file, so it may not name anything else (no '/', no '..').
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class UnknownSource(LookupError):
    """No mapping file for this source; the message lists the sources that have one."""


def read_webhook_spec(directory: Path, source: str) -> WebhookSpec:
    """The spec of `source` in `directory`.

    UnknownSource when the name is not a file's name there; a MappingError naming
    the file when the file is broken.
    """
    path = directory / f"{source}.yaml"
    if not _SOURCE.match(source) or not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
        raise UnknownSource(
            f"unknown webhook source {source!r}; known: {', '.join(known) or 'none'}"
        )
    try:
        return load_webhook_spec(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError, MappingError) as exc:
        raise MappingError(f"{path}: {exc}") from exc
