"""config/status.yaml: the status page's names, default texts and thresholds.

The file is optional (a store made before the status page keeps working without
one); every field has a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.core.contracts.notice import Notice, NoticeText


class Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sv: str = Field(min_length=1, max_length=300)
    en: str = Field(min_length=1, max_length=300)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.sv


class StatusConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Texts = Texts(sv="Driftinformation för e-tjänster", en="Status of our e-services")
    organisation: Texts = Texts(
        sv="Kommunernas IT-förvaltning", en="The municipalities' IT department"
    )
    # Shown for an incident that has no public notice (say, one opened by an alert):
    # neutral, since nobody has yet decided what to tell.
    default_notice: Notice = Notice(
        sv=NoticeText(
            what="Vi har en störning som påverkar e-tjänsten. Vi arbetar med att åtgärda den.",
        ),
        en=NoticeText(
            what="We have a disruption affecting the e-service. We are working to resolve it.",
        ),
    )
    # The page says "information may be delayed" when an incident or change event
    # accepted this long ago is not applied yet.
    delayed_after_minutes: float = Field(5, gt=0)
    planned_days: int = Field(14, ge=1, le=366)
    history_days: int = Field(30, ge=1, le=366)
    # Absolute links in the feeds; empty: taken from the request.
    base_url: str = ""


def load_status_config(data: Mapping[str, Any]) -> StatusConfig:
    try:
        return StatusConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise ValueError(f"{where}: {err['msg']}") from None
