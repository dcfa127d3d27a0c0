"""The report as one self-contained HTML page for people (pure; no network, no scripts).

Every value came from a device, the profile or the event log, so each one is escaped with
``html.escape`` and its control characters written out as escapes: nothing in a report can add
markup or break the page. The style sheet is inline, so the file reads the same offline and printed.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from app.report.model import STATUSES, Report, Section
from app.store.reader import escape_text

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #111; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 4px; }
table { border-collapse: collapse; margin: 6px 0; } td, th { border: 1px solid #bbb; padding: 2px 6px;
vertical-align: top; text-align: left; } th { background: #eee; }
.status { font-weight: bold; padding: 0 6px; border-radius: 3px; }
.PASS { background: #cfc; } .FAIL { background: #fbb; } .SKIPPED { background: #eee; }
.cancelled { background: #fd8; padding: 6px; font-weight: bold; }
.meta { color: #555; } code { font-family: ui-monospace, monospace; }
"""


def _text(value: Any) -> str:
    """Any value as escaped, printable HTML text."""
    if value is None:
        return "\u2014"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return html.escape(escape_text(str(value)), quote=True)


def _value(value: Any) -> str:
    """Nested data as HTML: dicts as key/value tables, lists of dicts as tables, lists as lists."""
    if isinstance(value, dict):
        if not value:
            return "<i>none</i>"
        rows = "".join(f"<tr><th>{_text(key)}</th><td>{_value(item)}</td></tr>" for key, item in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, (list, tuple)):
        if not value:
            return "<i>none</i>"
        if all(isinstance(item, dict) for item in value):
            columns: list[str] = []
            for item in value:
                columns += [key for key in item if key not in columns]
            head = "".join(f"<th>{_text(c)}</th>" for c in columns)
            body = "".join("<tr>" + "".join(f"<td>{_value(item.get(c))}</td>" for c in columns) + "</tr>"
                           for item in value)
            return f"<table><tr>{head}</tr>{body}</table>"
        return "<ul>" + "".join(f"<li>{_value(item)}</li>" for item in value) + "</ul>"
    return _text(value)


def _when(wall: float | None) -> str:
    if wall is None:
        return "\u2014"
    return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")


def _status(status: str) -> str:
    css = status if status in STATUSES else "SKIPPED"
    return f'<span class="status {css}">{_text(status)}</span>'


def _section(section: Section) -> str:
    body = _value(section.data) if section.data is not None else ""
    return (f'<section id="{_text(section.name)}"><h2>{_text(section.title)}</h2>'
            f'<p>{_status(section.status)} {_text(section.summary)} '
            f'<span class="meta">({section.seconds:.1f} s)</span></p>{body}</section>\n')


def render_html(report: Report) -> str:
    title = f"Dispatch Console technician report: {report.position or 'no profile'}"
    summary_rows = "".join(
        f'<tr><td><a href="#{_text(s.name)}">{_text(s.title)}</a></td><td>{_status(s.status)}</td>'
        f"<td>{_text(s.summary)}</td></tr>" for s in report.sections)
    cancelled = ('<p class="cancelled">CANCELLED: the report was stopped before every step ran; '
                 "what was gathered is below.</p>" if report.cancelled else "")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_text(title)}</title>'
        f"<style>{_CSS}</style></head>\n<body>\n"
        f"<h1>{_text(title)}</h1>\n"
        f'<p class="meta">Profile {_text(report.profile_path or "none")} \u00b7 started {_when(report.created_wall)}'
        f" \u00b7 finished {_when(report.finished_wall)}</p>\n{cancelled}\n"
        f'<section id="summary"><h2>Summary</h2><table><tr><th>section</th><th>result</th><th>why</th></tr>'
        f"{summary_rows}</table></section>\n"
        + "".join(_section(s) for s in report.sections)
        + "</body></html>\n"
    )
