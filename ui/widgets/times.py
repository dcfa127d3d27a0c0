"""How times read on the console: 24-hour wall clock with seconds, durations as m:ss."""

from __future__ import annotations

import time


def clock_text(wall: float | None) -> str:
    """``17:41:09`` for a Unix time, an em dash when there is none."""
    if wall is None:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(wall))


def date_text(wall: float) -> str:
    return time.strftime("%a %d %b %Y", time.localtime(wall))


def duration_text(seconds: float | None) -> str:
    """``0:07``, ``12:30``, ``1:02:03``; an em dash for unknown or negative (clock stepped)."""
    if seconds is None or seconds < 0:
        return "—"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def seconds_between(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return end - start
