"""The technician's report (``dispatch-console diag report``, the Technician view's REPORT button):
versions, platform, the profile without secrets, inventory, each test's result and figures, and the
event log's recent errors, as HTML for people and JSON for tools."""

from app.report.collect import STEPS, Step, collect, run_step
from app.report.model import FAIL, PASS, SKIPPED, Report, Section
from app.report.redact import REMOVED, is_secret_name, redact, redact_text
from app.report.render_html import render_html
from app.report.render_json import render_json
from app.report.steps import ReportContext

__all__ = [
    "FAIL", "PASS", "REMOVED", "SKIPPED", "STEPS", "Report", "ReportContext", "Section", "Step", "collect",
    "is_secret_name", "redact", "redact_text", "render_html", "render_json", "run_step",
]
