"""The goal report (MER): the seed's goal table and a summary of the period, rendered.

Pure: the caller evaluates the goals and gathers the period's incidents and
freezes; `render` only turns a `ReportInput` into Markdown, HTML, JSON or XLSX.
"""

from __future__ import annotations

from services.report.model import FreezeInfo, MajorIncident, ReportInput, Summary, ViolationInfo
from services.report.render import render

__all__ = ["FreezeInfo", "MajorIncident", "ReportInput", "Summary", "ViolationInfo", "render"]
