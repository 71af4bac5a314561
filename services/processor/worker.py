"""`opstrack worker`: run one processor worker until stopped."""

from __future__ import annotations

import logging
from pathlib import Path

from faust.worker import Worker

from services.ingest.kafka import ensure_settings_topics
from services.processor.app import create_app
from services.settings import Settings


def run(settings: Settings, loglevel: str = "info") -> None:
    ensure_settings_topics(settings)
    Path(settings.worker_datadir).mkdir(parents=True, exist_ok=True)  # faust will not
    app = create_app(settings)
    logging.getLogger("faust").setLevel(loglevel.upper())
    Worker(app, loglevel=loglevel).execute_from_commandline()
