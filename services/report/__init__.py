"""The goal report (MER): the seed's goal table and a summary of the period, rendered.

Pure rendering: the read model (services.readmodel.goals) evaluates the goals and
gathers the period's incidents and freezes from the store; `render` only turns a
`ReportInput` into Markdown, HTML, JSON or XLSX.
"""

from __future__ import annotations

from services.readmodel.goal_model import (
    FreezeInfo,
    MajorIncident,
    ReportInput,
    Summary,
    ViolationInfo,
)
from services.report.render import render

__all__ = ["FreezeInfo", "MajorIncident", "ReportInput", "Summary", "ViolationInfo", "render"]
