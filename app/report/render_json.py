"""The report as JSON for tools: the same sections, verdicts and figures as the HTML (pure)."""

from __future__ import annotations

import json
import math
from typing import Any

from app.report.model import Report


def _plain(value: Any) -> Any:
    """JSON-safe: tuples become lists, non-finite floats become "inf"/"-inf"/"nan" (strict JSON has none),
    anything else unknown becomes its text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def render_json(report: Report) -> str:
    return json.dumps(_plain(report.as_dict()), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
