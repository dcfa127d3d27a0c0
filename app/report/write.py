"""Where a report goes and how it is written: whole files, never a half-written one (no Qt)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from app.report.model import Report
from app.report.render_html import render_html
from app.report.render_json import render_json

FORMATS = ("html", "json", "both")
RENDERERS = {"html": render_html, "json": render_json}


def output_paths(output: str | os.PathLike[str], fmt: str) -> dict[str, Path]:
    """{"html": path, "json": path} for what ``fmt`` asks for; "both" sets the suffixes."""
    if fmt not in FORMATS:
        raise ValueError(f"report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    path = Path(output)
    if fmt == "both":
        return {"html": path.with_suffix(".html"), "json": path.with_suffix(".json")}
    return {fmt: path}


def write_atomically(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file in the same folder, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(report: Report, paths: dict[str, Path]) -> list[Path]:
    """Render and write each format; raises OSError naming the file that could not be written."""
    written = []
    for fmt, path in paths.items():
        write_atomically(path, RENDERERS[fmt](report))
        written.append(path)
    return written
