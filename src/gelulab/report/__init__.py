"""Assembles the report from the results of the layers below; it computes nothing itself."""

from .build import SECTIONS, ReportResult, build_report
from .section import ReportContext, Section

__all__ = ["SECTIONS", "ReportContext", "ReportResult", "Section", "build_report"]
