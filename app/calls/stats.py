"""Answer-time statistics of 9-1-1 calls: the figures a centre publishes in its annual report.

Pure Python (sqlite3, statistics, datetime); no Qt, so the CLI, the call-taker panel and the tests
share one computation.

What is measured
    A call counts in a period when its *ring* falls in ``[since, until)``. Its answer time is the
    ``answer_s`` the calls service recorded on the ``answer`` row (seconds from ring to answer at
    this position); if a row lacks it, the difference of the two rows' wall clocks. Answer times
    are kept to the millisecond, so floating-point noise in Unix times cannot push a 15.0 s answer
    past the 15 s line, and a negative time (wall clock stepped back) counts as 0 s.

Outcomes (each call has exactly one)
    answered  it has an ``answer`` row (an ``abandon`` row after an answer is ignored: the caller
              was answered).
    abandoned it has an ``abandon`` row and no ``answer``: the caller hung up while it rang.
    open      neither: still ringing, or the console stopped before it learned the outcome.

Shares (the denominator)
    "Within X s" means an answer time ``<= X`` s. Each share is *answered within X s / answered
    calls*; abandoned and open calls are not in the denominator and are reported separately (count
    and share of all calls). NENA-STA-020.1-2020 asks that 90 % of 9-1-1 calls be answered within
    15 s and 95 % within 20 s. NFPA 1225 (2022 edition, which replaced NFPA 1221) asks that 90 % of
    requests for emergency assistance be answered within 10 s (as NFPA's own summary of the 2022
    edition puts it; NFPA 1221 editions set 15 s and longer limits). Both time from the call's
    arrival; the console sees it from the ring at this position, which is what is measured here.
    A target with no answered call to judge is neither met nor missed (``None``).

Percentiles
    The median is the middle answer time (the mean of the two middle ones for an even count). The
    90th percentile is the nearest-rank value: the smallest answer time that at least 90 % of answered
    calls do not exceed, so "p90 <= 15 s" holds exactly when the NENA 15 s target is met.

Buckets of the distribution
    ``0-5 s`` is 0 <= t <= 5; every later bucket ``a-b s`` is a < t <= b; ``60+ s`` is t > 60. The
    upper bound belongs to the bucket, matching "within X s".

Hours and shifts use local time (``tz``, default the system's). A shift is named by the date and
time it started, e.g. ``2026-11-21 07:00``: the latest shift start at or before the ring, which for
a call at 02:00 with shifts 07:00 and 19:00 is the previous day's 19:00 shift.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from app.store.reader import reading
from app.store.schema import CALL_EVENTS_SCHEMA, schema_version

# --------------------------------------------------------------------------- what the store holds

#: The kinds of call_events rows that decide a call's answer time and outcome.
_OUTCOME_KINDS = ("ring", "answer", "abandon", "release")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as far as the statistics care: when it rang, whether and when it was answered."""

    call_uid: str
    line: str
    ring_wall: float
    answer_wall: float | None
    end_wall: float | None  # abandon or release, whichever came first
    abandoned: bool
    ani: str = ""
    # Seconds from ring to answer as the calls service measured them (the answer row's answer_s);
    # None when not answered or not recorded. Use answer_seconds(), which falls back to the walls.
    answer_s: float | None = None

    @property
    def answered(self) -> bool:
        return self.answer_wall is not None

    @property
    def outcome(self) -> str:
        return "answered" if self.answered else "abandoned" if self.abandoned else "open"


def load_call_records(
    db_path: str | os.PathLike[str], since_wall: float | None = None, until_wall: float | None = None
) -> list[CallRecord]:
    """The calls whose first ring falls in ``[since_wall, until_wall)`` (None = unbounded), by ring time.

    Opens the store read-only (safe while the console writes). A missing file raises ``StoreError``
    naming it (a wrong path should not read as "no calls"); a store older than schema version 2 was
    written before calls were recorded and gives an empty list. A row whose detail is not valid JSON
    still counts by its kind and time.
    """
    with reading(db_path) as conn:
        if conn is None or schema_version(conn) < CALL_EVENTS_SCHEMA:
            return []
        rows = conn.execute(*_rows_query(since_wall, until_wall)).fetchall()
    records = _records_from_rows(rows)
    return [r for r in records if _in_period(r.ring_wall, since_wall, until_wall)]


def _rows_query(since_wall: float | None, until_wall: float | None) -> tuple[str, tuple[Any, ...]]:
    # Rings in the period come off the (kind, wall) index; the other rows of those calls off the
    # (call_uid, id) index. The unary + on the outer kind keeps SQLite from choosing the kind index
    # there instead, which would walk every answer/release row ever stored to find a day's calls.
    ring_filter, params = "kind = 'ring'", []
    if since_wall is not None:
        ring_filter += " AND wall >= ?"
        params.append(float(since_wall))
    if until_wall is not None:
        ring_filter += " AND wall < ?"
        params.append(float(until_wall))
    kinds = ", ".join(f"'{kind}'" for kind in _OUTCOME_KINDS)
    sql = (
        "SELECT call_uid, kind, wall, line, detail FROM call_events "
        f"WHERE +kind IN ({kinds}) AND call_uid IN (SELECT call_uid FROM call_events WHERE {ring_filter}) "
        "ORDER BY id"
    )
    return sql, tuple(params)


def _records_from_rows(rows: Iterable[tuple[str, str, float, str, str]]) -> list[CallRecord]:
    calls: dict[str, dict[str, Any]] = {}
    for call_uid, kind, wall, line, detail_text in rows:
        call = calls.setdefault(call_uid, {})
        # Only ring and answer rows carry something counted here; skip parsing the rest.
        detail = _detail(detail_text) if kind in ("ring", "answer") else {}
        # The first row of each kind decides: a repeated ring or answer row changes nothing.
        if kind == "ring" and "ring" not in call:
            call["ring"], call["line"] = float(wall), line
            ani = detail.get("ani")
            call["ani"] = ani if isinstance(ani, str) else ""
        elif kind == "answer" and "answer" not in call:
            call["answer"], call["answer_s"] = float(wall), _seconds(detail.get("answer_s"))
        elif kind in ("abandon", "release"):
            call.setdefault("end", float(wall))
            if kind == "abandon":
                call["abandon"] = True
    records = []
    for call_uid, call in calls.items():
        if "ring" not in call:
            continue
        answer_wall = call.get("answer")
        records.append(CallRecord(
            call_uid=call_uid,
            line=call["line"],
            ring_wall=call["ring"],
            answer_wall=answer_wall,
            end_wall=call.get("end"),
            abandoned=answer_wall is None and call.get("abandon", False),
            ani=call["ani"],
            answer_s=call.get("answer_s"),
        ))
    records.sort(key=lambda r: (r.ring_wall, r.call_uid))
    return records


def _detail(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _in_period(wall: float, since: float | None, until: float | None) -> bool:
    return (since is None or wall >= since) and (until is None or wall < until)


def answer_seconds(record: CallRecord) -> float | None:
    """The record's answer time in seconds (ms resolution), or None if it was not answered."""
    if record.answer_wall is None:
        return None
    seconds = record.answer_s if record.answer_s is not None else record.answer_wall - record.ring_wall
    return round(max(seconds, 0.0), 3)


# --------------------------------------------------------------------------- shifts and periods

_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DEFAULT_SHIFTS: tuple[str, ...] = ("07:00", "19:00")


def parse_shifts(shifts: Iterable[str]) -> tuple[time, ...]:
    """Shift start times, sorted; ValueError naming the bad entry if one is not HH:MM or repeats."""
    starts = []
    for text in shifts:
        match = _HHMM_RE.fullmatch(str(text).strip())
        if not match:
            raise ValueError(f"invalid shift start {text!r}: expected HH:MM on a 24-hour clock, e.g. '07:00'")
        starts.append(time(int(match.group(1)), int(match.group(2))))
    if not starts:
        raise ValueError("at least one shift start time is needed")
    if len(set(starts)) != len(starts):
        raise ValueError(f"shift start times must differ: {list(shifts)}")
    return tuple(sorted(starts))


def local_time(wall: float, tz: tzinfo | None = None) -> datetime:
    """The wall time in ``tz`` (naive local time when ``tz`` is None)."""
    return datetime.fromtimestamp(wall, tz)


def shift_start(wall: float, starts: Sequence[time], tz: tzinfo | None = None) -> datetime:
    """Local start of the shift a moment falls in: the latest start at or before it (may be yesterday's)."""
    return _shift_start_of(local_time(wall, tz), starts)


def _shift_start_of(local: datetime, starts: Sequence[time]) -> datetime:
    today = [start for start in starts if start <= local.time()]
    day = local.date() if today else local.date() - timedelta(days=1)
    start = today[-1] if today else starts[-1]
    return datetime.combine(day, start, tzinfo=local.tzinfo)


def shift_label(start: datetime) -> str:
    return start.strftime("%Y-%m-%d %H:%M")


#: Period names the panel and callers use, and what each shows.
PERIODS: dict[str, str] = {
    "today": "Today",
    "shift": "This shift",
    "week": "Last 7 days",
    "all": "All",
}


def period_bounds(
    period: str, now: float, *, shifts: Iterable[str] = DEFAULT_SHIFTS, tz: tzinfo | None = None
) -> tuple[float | None, float | None]:
    """``(since, until)`` walls of a named period as seen at ``now``; None = unbounded.

    today: local midnight to the next; shift: the current shift's start onwards; week: the last
    seven calendar days including today; all: everything.
    """
    if period == "all":
        return None, None
    local = local_time(now, tz)
    if period == "shift":
        return shift_start(now, parse_shifts(shifts), tz).timestamp(), None
    if period == "today":
        return day_start(local.date(), tz), day_start(local.date() + timedelta(days=1), tz)
    if period == "week":
        return day_start(local.date() - timedelta(days=6), tz), day_start(local.date() + timedelta(days=1), tz)
    raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")


def day_start(day: date, tz: tzinfo | None = None) -> float:
    """The wall time of local midnight starting ``day``."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).timestamp()


# --------------------------------------------------------------------------- the figures

@dataclass(frozen=True, slots=True)
class Target:
    """A published call-answering target: ``required_pct`` % of answered calls within ``within_s``."""

    name: str
    within_s: float
    required_pct: float
    standard: str


NFPA_10 = Target("nfpa_10", 10.0, 90.0, "NFPA 1225: 90% within 10 s")
NENA_15 = Target("nena_15", 15.0, 90.0, "NENA-STA-020: 90% within 15 s")
NENA_20 = Target("nena_20", 20.0, 95.0, "NENA-STA-020: 95% within 20 s")
TARGETS = (NFPA_10, NENA_15, NENA_20)

#: Upper bounds (inclusive) of the distribution's buckets; the last bucket has none.
BUCKET_BOUNDS: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 30.0, 60.0)


@dataclass(frozen=True, slots=True)
class Bucket:
    label: str
    above_s: float | None  # exclusive lower bound; None for the first bucket, which starts at 0 s inclusive
    up_to_s: float | None  # inclusive upper bound; None for the last bucket
    answered: int


@dataclass(frozen=True, slots=True)
class Figures:
    """The counts and shares of one group of calls: the whole period, one hour of day, or one shift."""

    label: str
    calls: int
    answered: int
    abandoned: int
    open: int
    within_10: int
    within_15: int
    within_20: int
    median_answer_s: float | None
    p90_answer_s: float | None

    def count_within(self, seconds: float) -> int:
        """Calls answered within ``seconds`` (10, 15 or 20)."""
        return {10.0: self.within_10, 15.0: self.within_15, 20.0: self.within_20}[float(seconds)]

    def pct_within(self, seconds: float) -> float | None:
        """Percent of answered calls answered within ``seconds`` (10, 15 or 20); None if none answered."""
        return _pct(self.count_within(seconds), self.answered)

    @property
    def pct_abandoned(self) -> float | None:
        """Percent of all calls in the group that were abandoned; None if there were none."""
        return _pct(self.abandoned, self.calls)

    def meets(self, target: Target) -> bool | None:
        """Whether the group meets ``target``; None when no call was answered."""
        pct = self.pct_within(target.within_s)
        return None if pct is None else pct >= target.required_pct


@dataclass(frozen=True, slots=True)
class CallStats:
    period: str
    shifts: tuple[str, ...]
    timezone: str
    overall: Figures
    per_hour: tuple[Figures, ...]  # 24 rows, hour 0..23 of local time, empty hours included
    per_shift: tuple[Figures, ...]  # shifts that had calls, oldest first
    distribution: tuple[Bucket, ...]

    @property
    def meets_nena_15(self) -> bool | None:
        return self.overall.meets(NENA_15)

    @property
    def meets_nena_20(self) -> bool | None:
        return self.overall.meets(NENA_20)

    @property
    def meets_nfpa_10(self) -> bool | None:
        return self.overall.meets(NFPA_10)


def compute_stats(
    records: Iterable[CallRecord],
    *,
    shifts: Iterable[str] = DEFAULT_SHIFTS,
    tz: tzinfo | None = None,
    period: str = "all",
) -> CallStats:
    """Counts, shares, percentiles, distribution, per hour and per shift (see the module docstring).

    ``period`` only labels the overall row. Raises ValueError for malformed ``shifts``.
    """
    records = list(records)
    shift_texts = tuple(shifts)
    starts = parse_shifts(shift_texts)
    by_hour: dict[int, list[CallRecord]] = {hour: [] for hour in range(24)}
    by_shift: dict[datetime, list[CallRecord]] = {}
    for record in records:
        local = local_time(record.ring_wall, tz)
        by_hour[local.hour].append(record)
        by_shift.setdefault(_shift_start_of(local, starts).replace(tzinfo=None), []).append(record)
    return CallStats(
        period=period,
        shifts=tuple(start.strftime("%H:%M") for start in starts),
        timezone=_tz_name(tz),
        overall=figures(period, records),
        per_hour=tuple(figures(f"{hour:02d}:00", by_hour[hour]) for hour in range(24)),
        per_shift=tuple(figures(shift_label(start), by_shift[start]) for start in sorted(by_shift)),
        distribution=distribution(records),
    )


def figures(label: str, records: Sequence[CallRecord]) -> Figures:
    times = sorted(t for t in (answer_seconds(r) for r in records) if t is not None)
    abandoned = sum(1 for r in records if r.outcome == "abandoned")
    return Figures(
        label=label,
        calls=len(records),
        answered=len(times),
        abandoned=abandoned,
        open=len(records) - len(times) - abandoned,
        within_10=sum(1 for t in times if t <= 10.0),
        within_15=sum(1 for t in times if t <= 15.0),
        within_20=sum(1 for t in times if t <= 20.0),
        median_answer_s=statistics.median(times) if times else None,
        p90_answer_s=nearest_rank(times, 90) if times else None,
    )


def nearest_rank(sorted_values: Sequence[float], percent: float) -> float:
    """The smallest value that at least ``percent`` % of the values do not exceed."""
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def distribution(records: Iterable[CallRecord]) -> tuple[Bucket, ...]:
    counts = [0] * (len(BUCKET_BOUNDS) + 1)
    for record in records:
        seconds = answer_seconds(record)
        if seconds is not None:
            counts[bucket_index(seconds)] += 1
    buckets, lower = [], None
    for index, count in enumerate(counts):
        upper = BUCKET_BOUNDS[index] if index < len(BUCKET_BOUNDS) else None
        label = f"{_num(lower or 0)}-{_num(upper)} s" if upper is not None else f"{_num(lower)}+ s"
        buckets.append(Bucket(label, lower, upper, count))
        lower = upper
    return tuple(buckets)


def bucket_index(seconds: float) -> int:
    for index, upper in enumerate(BUCKET_BOUNDS):
        if seconds <= upper:
            return index
    return len(BUCKET_BOUNDS)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def percent_1dp(part: int, whole: int) -> float | None:
    """``part / whole`` in percent to one decimal, halves rounded up as reports do (81.25 -> 81.3).

    Worked in integers, so no binary fraction decides a published figure; None when ``whole`` is 0.
    """
    if whole == 0:
        return None
    tenths = (2000 * part + whole) // (2 * whole)
    return tenths / 10


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _tz_name(tz: tzinfo | None) -> str:
    if tz is None:
        return datetime.now().astimezone().tzname() or "local"
    return str(getattr(tz, "key", None) or tz.tzname(datetime.now(tz)) or tz)


# --------------------------------------------------------------------------- export

FIGURE_COLUMNS = (
    "section", "label", "calls", "answered", "abandoned", "open",
    "within_10_s", "within_15_s", "within_20_s",
    "pct_within_10_s", "pct_within_15_s", "pct_within_20_s", "pct_abandoned",
    "median_answer_s", "p90_answer_s",
)
DISTRIBUTION_COLUMNS = ("section", "bucket", "above_s", "up_to_s", "answered", "pct_of_answered")


def figures_dict(row: Figures) -> dict[str, Any]:
    """One row as plain numbers: percents to 0.1, seconds to 0.001, None where there is nothing to say."""
    return {
        "label": row.label,
        "calls": row.calls,
        "answered": row.answered,
        "abandoned": row.abandoned,
        "open": row.open,
        "within_10_s": row.within_10,
        "within_15_s": row.within_15,
        "within_20_s": row.within_20,
        "pct_within_10_s": percent_1dp(row.within_10, row.answered),
        "pct_within_15_s": percent_1dp(row.within_15, row.answered),
        "pct_within_20_s": percent_1dp(row.within_20, row.answered),
        "pct_abandoned": percent_1dp(row.abandoned, row.calls),
        "median_answer_s": _round(row.median_answer_s, 3),
        "p90_answer_s": _round(row.p90_answer_s, 3),
    }


def stats_json(stats: CallStats) -> dict[str, Any]:
    """Everything as a JSON-ready dict (see ``figures_dict`` for the row keys)."""
    answered = stats.overall.answered
    return {
        "period": stats.period,
        "timezone": stats.timezone,
        "shifts": list(stats.shifts),
        "share_denominator": "answered calls",
        "overall": figures_dict(stats.overall),
        "targets": [
            {"name": t.name, "within_s": t.within_s, "required_pct": t.required_pct, "standard": t.standard,
             "pct": percent_1dp(stats.overall.count_within(t.within_s), stats.overall.answered),
             "met": stats.overall.meets(t)}
            for t in TARGETS
        ],
        "distribution": [
            {"bucket": b.label, "above_s": b.above_s, "up_to_s": b.up_to_s, "answered": b.answered,
             "pct_of_answered": percent_1dp(b.answered, answered)}
            for b in stats.distribution
        ],
        "per_hour": [figures_dict(row) for row in stats.per_hour],
        "per_shift": [figures_dict(row) for row in stats.per_shift],
    }


def stats_csv(stats: CallStats) -> str:
    """CSV text: sections overall, hour, shift (one shared header) then distribution (its own header).

    Sections are separated by one empty line; the first column of every row names its section, so
    a spreadsheet filter or ``csv.reader`` can pick a table out. Empty cells mean "no calls to judge".
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIGURE_COLUMNS)
    writer.writerow(_csv_row("overall", stats.overall))
    writer.writerow([])
    writer.writerow(FIGURE_COLUMNS)
    writer.writerows(_csv_row("hour", row) for row in stats.per_hour)
    writer.writerow([])
    writer.writerow(FIGURE_COLUMNS)
    writer.writerows(_csv_row("shift", row) for row in stats.per_shift)
    writer.writerow([])
    writer.writerow(DISTRIBUTION_COLUMNS)
    for bucket in stats.distribution:
        pct = percent_1dp(bucket.answered, stats.overall.answered)
        writer.writerow(["distribution", bucket.label, _cell(bucket.above_s), _cell(bucket.up_to_s),
                         bucket.answered, _cell(pct)])
    return out.getvalue()


def write_stats_csv(path: str | os.PathLike[str], stats: CallStats) -> Path:
    """Write ``stats_csv`` to ``path`` (UTF-8); OSError carries the reason, the caller names the file."""
    target = Path(path)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(stats_csv(stats))
    return target


def _csv_row(section: str, row: Figures) -> list[Any]:
    values = figures_dict(row)
    return [section, *(_cell(values[column]) for column in FIGURE_COLUMNS[1:])]


def _cell(value: Any) -> Any:
    return "" if value is None else value


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --------------------------------------------------------------------------- one-screen summary

def summary_lines(stats: CallStats) -> list[str]:
    """The human summary the CLI prints: totals, targets, distribution, shifts, busy hours."""
    o = stats.overall
    lines = [
        f"9-1-1 calls, {stats.period} (times {stats.timezone}, shifts start {', '.join(stats.shifts)})",
        (f"  calls {o.calls}   answered {o.answered}   abandoned {o.abandoned}"
         f" ({_pct_text(o.abandoned, o.calls)} of calls)   open {o.open}"),
        f"  answer time: median {_secs_text(o.median_answer_s)}, 90th percentile {_secs_text(o.p90_answer_s)}",
        "  shares are of answered calls; 'within X s' means X s or less",
    ]
    for target in TARGETS:
        seconds = target.within_s
        count = o.count_within(seconds)
        figure = f"within {seconds:g} s: {count}/{o.answered} = {_pct_text(count, o.answered)}"
        lines.append(f"  {figure:<32}{target.standard} -> {verdict_text(o.meets(target))}")
    lines.append("answer-time distribution (answered calls):")
    widest = max((b.answered for b in stats.distribution), default=0) or 1
    for bucket in stats.distribution:
        bar = "#" * round(30 * bucket.answered / widest)
        lines.append(f"  {bucket.label:>8}  {bucket.answered:5d}  {bar}")
    lines.append("per shift:")
    lines.extend(f"  {_row_text(row)}" for row in stats.per_shift)
    if not stats.per_shift:
        lines.append("  (no calls)")
    lines.append("per hour of day (hours with calls):")
    busy = [row for row in stats.per_hour if row.calls]
    lines.extend(f"  {_row_text(row)}" for row in busy)
    if not busy:
        lines.append("  (no calls)")
    return lines


def verdict_text(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "no answered calls"}[met]


def _row_text(row: Figures) -> str:
    return (f"{row.label:<16}  calls {row.calls:4d}  answered {row.answered:4d}  abandoned {row.abandoned:3d}"
            f"  open {row.open:3d}  <=10 s {_pct_text(row.within_10, row.answered):>6}"
            f"  <=15 s {_pct_text(row.within_15, row.answered):>6}"
            f"  <=20 s {_pct_text(row.within_20, row.answered):>6}"
            f"  median {_secs_text(row.median_answer_s)}")


def _pct_text(part: int, whole: int) -> str:
    value = percent_1dp(part, whole)
    return "-" if value is None else f"{value:.1f}%"


def _secs_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


#: Loads the calls that rang in ``[since_wall, until_wall)`` (None = unbounded), e.g.
#: ``lambda since, until: load_call_records(db_path, since, until)``.
RecordLoader = Callable[[float | None, float | None], Sequence[CallRecord]]
