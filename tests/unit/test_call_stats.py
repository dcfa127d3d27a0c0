"""Answer-time statistics against a day of calls whose figures were worked out by hand.

The day is written through a real StoreWriter into a real SQLite file and read back with
load_call_records, so the SQL, the grouping and the arithmetic are all under test. Every expected
figure below was computed by hand from the CALLS table (the working is in the comments), not copied
from the program's output.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.calls.stats import (
    NENA_15,
    CallRecord,
    compute_stats,
    load_call_records,
    parse_shifts,
    period_bounds,
    shift_start,
    stats_csv,
    stats_json,
    write_stats_csv,
)
from app.store import StoreError, StoreWriter
from app.store.schema import MIGRATIONS, migrate

ROOT = Path(__file__).resolve().parents[2]
CST = timezone(timedelta(hours=-6), "CST")  # fixed offset: no DST, no tz database needed
POSIX_CST = "CST6"  # the same zone for a subprocess's TZ variable
DAY = datetime(2026, 11, 21, tzinfo=CST)
SINCE, UNTIL = DAY.timestamp(), (DAY + timedelta(days=1)).timestamp()


def at(day: int, hh: int, mm: int, ss: int = 0) -> float:
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=CST).timestamp()


# (call_uid, ring wall, outcome, seconds): answered -> answer time, abandoned -> how long it rang.
# Shifts start 07:00 and 19:00, so N20 = "2026-11-20 19:00", D21 = "2026-11-21 07:00", N21 = "2026-11-21 19:00".
CALLS = [
    ("c00", at(20, 23, 59, 58), "answered", 5.0),   # rang the evening before: outside the day
    ("c01", at(21, 0, 0, 0), "answered", 4.0),      # exactly at midnight: inside      hour 0  N20
    ("c02", at(21, 0, 20), "answered", 10.0),       # boundary 10 s                    hour 0  N20
    ("c03", at(21, 2, 15, 30), "abandoned", 25.0),  #                                  hour 2  N20
    ("c04", at(21, 3, 40), "answered", 15.0),       # boundary 15 s                    hour 3  N20
    ("c05", at(21, 6, 59, 55), "answered", 18.0),   # answered 07:00:13, across the shift change: N20, hour 6
    ("c06", at(21, 7, 0, 0), "answered", 3.0),      # exactly at the shift start: D21  hour 7
    ("c07", at(21, 8, 5), "answered", 7.5),         # answer row without answer_s      hour 8  D21
    ("c08", at(21, 8, 5, 20), "answered", 20.0),    # boundary 20 s                    hour 8  D21
    ("c09", at(21, 9, 30), "answered", 5.0),        # boundary of the 0-5 s bucket     hour 9  D21
    ("c10", at(21, 11, 11, 11), "abandoned", 4.0),  #                                  hour 11 D21
    ("c11", at(21, 12, 0), "answered", 12.0),       #                                  hour 12 D21
    ("c12", at(21, 12, 30), "answered", 20.5),      #                                  hour 12 D21
    ("c13", at(21, 14, 45), "answered", 31.0),      #                                  hour 14 D21
    ("c14", at(21, 17, 10), "answered", 9.0),       #                                  hour 17 D21
    ("c15", at(21, 18, 59, 59), "answered", 61.0),  #                                  hour 18 D21
    ("c16", at(21, 19, 0), "answered", 2.0),        #                                  hour 19 N21
    ("c17", at(21, 21, 30), "answered", 14.0),      #                                  hour 21 N21
    ("c18", at(21, 22, 0), "open", 0.0),            # rang, no outcome recorded         hour 22 N21
    ("c19", at(21, 23, 59, 50), "answered", 13.0),  # answered 00:00:03 next day: still this day, hour 23 N21
    ("c20", at(22, 0, 0, 0), "answered", 1.0),      # exactly at the next midnight: outside
]
NO_ANSWER_S = {"c07"}  # its answer time must come from the walls


def write_calls(db: Path, calls=CALLS) -> None:
    writer = StoreWriter(db)
    writer.start()
    try:
        for n, (uid, ring, outcome, seconds) in enumerate(calls):
            line = f"911-{n % 3 + 1}"
            ani = f"31255501{n:02d}"
            writer.log_call_event(uid, "ring", line=line, wall=ring,
                                  detail={"ani": ani, "source": "phone", "call_ref": uid})
            if outcome == "answered":
                detail = {} if uid in NO_ANSWER_S else {"answer_s": seconds}
                writer.log_call_event(uid, "answer", line=line, wall=ring + seconds, detail=detail)
                writer.log_call_event(uid, "spill", line=line, wall=ring + seconds + 1,
                                      detail={"raw_id": None, "kind": "unparsed", "cos": None, "ani": ani,
                                              "rebid": False})
                writer.log_call_event(uid, "release", line=line, wall=ring + seconds + 90,
                                      detail={"talk_s": 90, "hang_up": False})
            elif outcome == "abandoned":
                writer.log_call_event(uid, "abandon", line=line, wall=ring + seconds,
                                      detail={"rang_s": seconds, "ani": ani})
                writer.log_call_event(uid, "callback_open", line=line, wall=ring + seconds,
                                      detail={"number": ani, "reason": "abandoned"})
    finally:
        assert writer.stop(), "store writer did not stop"


@pytest.fixture
def day_db(tmp_path: Path) -> Path:
    db = tmp_path / "calls.sqlite3"
    write_calls(db)
    return db


@pytest.fixture
def day_stats(day_db: Path):
    return compute_stats(load_call_records(day_db, SINCE, UNTIL), shifts=["07:00", "19:00"], tz=CST,
                         period="2026-11-21")


# ----------------------------------------------------------------------------- loading


def test_load_takes_the_calls_that_rang_in_the_window(day_db: Path) -> None:
    records = load_call_records(day_db, SINCE, UNTIL)
    # c00 rang before midnight, c20 exactly at the next midnight ([since, until) excludes it).
    assert [r.call_uid for r in records] == [f"c{n:02d}" for n in range(1, 20)]
    by_uid = {r.call_uid: r for r in records}
    c19 = by_uid["c19"]
    assert c19.answer_wall == at(22, 0, 0, 3) and c19.end_wall == at(22, 0, 0, 3) + 90
    assert c19.line == "911-2" and c19.ani == "3125550119"  # n=19: 19 % 3 + 1 = 2
    c03 = by_uid["c03"]
    assert c03.abandoned and c03.answer_wall is None and c03.end_wall == at(21, 2, 15, 55)
    c18 = by_uid["c18"]
    assert (c18.outcome, c18.answer_wall, c18.end_wall) == ("open", None, None)
    assert by_uid["c07"].answer_s is None and by_uid["c08"].answer_s == 20.0
    assert len(load_call_records(day_db)) == len(CALLS)  # no bounds: everything


def test_missing_store_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite3"
    with pytest.raises(StoreError, match="nowhere.sqlite3"):
        load_call_records(missing)


def test_store_from_before_call_timelines_has_no_calls(tmp_path: Path) -> None:
    old = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(old)
    migrate(conn, MIGRATIONS[:1])  # schema 1: events and raw spills, no call_events table
    conn.close()
    assert load_call_records(old) == []


def test_answer_time_comes_from_the_service_then_the_walls() -> None:
    ring = at(21, 10, 0)
    measured = CallRecord("a", "1", ring, ring + 9.0, None, False, answer_s=11.0)  # wall clock stepped
    from_walls = CallRecord("b", "1", ring, ring + 15.0004, None, False)  # float noise on Unix times
    stepped_back = CallRecord("c", "1", ring, ring - 3.0, None, False)
    stats = compute_stats([measured, from_walls, stepped_back], tz=CST)
    # Times: 11.0 (service), 15.0 (walls, to the ms), 0.0 (negative clamps): within 10 = {0}, within 15 = all.
    assert (stats.overall.within_10, stats.overall.within_15) == (1, 3)
    assert stats.overall.median_answer_s == 11.0


# ----------------------------------------------------------------------------- the hand-computed day


def test_day_overall(day_stats) -> None:
    o = day_stats.overall
    # 19 calls c01..c19; abandoned c03, c10; open c18; answered the other 16.
    assert (o.calls, o.answered, o.abandoned, o.open) == (19, 16, 2, 1)
    # Answer times sorted: 2, 3, 4, 5, 7.5, 9, 10 | 12, 13, 14, 15 | 18, 20 | 20.5, 31, 61
    # <= 10: 7;  <= 15: 7 + 4 = 11;  <= 20: 11 + 2 = 13.
    assert (o.within_10, o.within_15, o.within_20) == (7, 11, 13)
    assert o.pct_within(10) == pytest.approx(43.75)  # 7/16
    assert o.pct_within(15) == pytest.approx(68.75)  # 11/16
    assert o.pct_within(20) == pytest.approx(81.25)  # 13/16
    assert o.pct_abandoned == pytest.approx(100 * 2 / 19)
    assert o.median_answer_s == 12.5  # 8th and 9th of 16: (12 + 13) / 2
    assert o.p90_answer_s == 31.0  # nearest rank: ceil(0.9 * 16) = 15th value
    assert (day_stats.meets_nfpa_10, day_stats.meets_nena_15, day_stats.meets_nena_20) == (False, False, False)


def test_day_distribution(day_stats) -> None:
    got = [(b.label, b.answered) for b in day_stats.distribution]
    # 0-5: 2,3,4,5   5-10: 7.5,9,10   10-15: 12,13,14,15   15-20: 18,20   20-30: 20.5   30-60: 31   60+: 61
    assert got == [("0-5 s", 4), ("5-10 s", 3), ("10-15 s", 4), ("15-20 s", 2),
                   ("20-30 s", 1), ("30-60 s", 1), ("60+ s", 1)]
    assert day_stats.distribution[0].above_s is None and day_stats.distribution[-1].up_to_s is None
    assert (day_stats.distribution[2].above_s, day_stats.distribution[2].up_to_s) == (10.0, 15.0)


def test_day_per_shift(day_stats) -> None:
    shifts = {row.label: row for row in day_stats.per_shift}
    assert list(shifts) == ["2026-11-20 19:00", "2026-11-21 07:00", "2026-11-21 19:00"]
    night_before = shifts["2026-11-20 19:00"]
    # c01 4, c02 10, c03 abandoned, c04 15, c05 18 (rang 06:59:55, answered after 07:00).
    assert (night_before.calls, night_before.answered, night_before.abandoned, night_before.open) == (5, 4, 1, 0)
    assert (night_before.within_10, night_before.within_15, night_before.within_20) == (2, 3, 4)
    assert night_before.median_answer_s == 12.5  # (10 + 15) / 2
    assert night_before.p90_answer_s == 18.0  # ceil(3.6) = 4th of 4
    day = shifts["2026-11-21 07:00"]
    # c06..c15: answered 3, 7.5, 20, 5, 12, 20.5, 31, 9, 61 -> sorted 3, 5, 7.5, 9, 12, 20, 20.5, 31, 61; c10 abandoned.
    assert (day.calls, day.answered, day.abandoned, day.open) == (10, 9, 1, 0)
    assert (day.within_10, day.within_15, day.within_20) == (4, 5, 6)
    assert day.pct_within(20) == pytest.approx(100 * 6 / 9)
    assert day.median_answer_s == 12.0 and day.p90_answer_s == 61.0  # 5th of 9; ceil(8.1) = 9th
    night = shifts["2026-11-21 19:00"]
    # c16 2, c17 14, c18 open, c19 13 (rang 23:59:50, answered after midnight).
    assert (night.calls, night.answered, night.abandoned, night.open) == (4, 3, 0, 1)
    assert (night.within_10, night.within_15, night.within_20) == (1, 3, 3)
    assert night.meets(NENA_15) is True and night.median_answer_s == 13.0 and night.p90_answer_s == 14.0


def test_day_per_hour(day_stats) -> None:
    hours = day_stats.per_hour
    assert [row.label for row in hours] == [f"{h:02d}:00" for h in range(24)]
    calls_per_hour = {h: row.calls for h, row in enumerate(hours) if row.calls}
    assert calls_per_hour == {0: 2, 2: 1, 3: 1, 6: 1, 7: 1, 8: 2, 9: 1, 11: 1, 12: 2, 14: 1, 17: 1,
                              18: 1, 19: 1, 21: 1, 22: 1, 23: 1}
    assert sum(calls_per_hour.values()) == 19
    eight = hours[8]  # c07 7.5, c08 20
    assert (eight.within_10, eight.within_15, eight.within_20, eight.median_answer_s) == (1, 1, 2, 13.75)
    assert hours[11].abandoned == 1 and hours[11].pct_within(15) is None  # only c10, abandoned
    assert hours[22].open == 1 and hours[23].answered == 1 and hours[6].answered == 1
    assert hours[4].calls == 0 and hours[4].median_answer_s is None


# ----------------------------------------------------------------------------- targets and shifts


def _answered(times: list[float]) -> list[CallRecord]:
    ring = at(21, 10, 0)
    return [CallRecord(f"t{n}", "1", ring + n, ring + n + t, None, False, answer_s=t) for n, t in enumerate(times)]


def test_targets_are_met_at_exactly_the_required_share() -> None:
    # 20 calls: 18 at 10.0 s, one at 15.0, one at 20.0 -> 90 % within 10 s, 95 % within 15 s, 100 % within 20 s.
    stats = compute_stats(_answered([10.0] * 18 + [15.0, 20.0]), tz=CST)
    assert (stats.meets_nfpa_10, stats.meets_nena_15, stats.meets_nena_20) == (True, True, True)
    # 17 within 10 s and 2 at 20.0: 85 % within 10 and within 15, 100 % within 20.
    stats = compute_stats(_answered([10.0] * 17 + [15.1, 20.0, 20.0]), tz=CST)
    assert (stats.meets_nfpa_10, stats.meets_nena_15, stats.meets_nena_20) == (False, False, True)
    # 19 within 15, one at 20.001: 95 % within 20 s is met, 90 % within 15 s too.
    stats = compute_stats(_answered([15.0] * 19 + [20.001]), tz=CST)
    assert (stats.meets_nfpa_10, stats.meets_nena_15, stats.meets_nena_20) == (False, True, True)
    assert stats.overall.p90_answer_s == 15.0


def test_no_calls_judges_nothing() -> None:
    stats = compute_stats([], tz=CST)
    assert (stats.overall.calls, stats.overall.pct_within(15), stats.overall.median_answer_s) == (0, None, None)
    assert (stats.meets_nfpa_10, stats.meets_nena_15, stats.meets_nena_20) == (None, None, None)
    assert stats.per_shift == () and len(stats.per_hour) == 24
    rows = list(csv.reader(io.StringIO(stats_csv(stats))))
    assert rows[1][:6] == ["overall", "all", "0", "0", "0", "0"] and rows[1][9] == ""


def test_shifts_that_cross_midnight() -> None:
    starts = parse_shifts(["22:00", "06:00", "14:00"])  # unsorted on purpose
    assert shift_start(at(21, 23, 30), starts, CST) == datetime(2026, 11, 21, 22, 0, tzinfo=CST)
    assert shift_start(at(22, 5, 59, 59), starts, CST) == datetime(2026, 11, 21, 22, 0, tzinfo=CST)
    assert shift_start(at(22, 6, 0), starts, CST) == datetime(2026, 11, 22, 6, 0, tzinfo=CST)
    stats = compute_stats(_answered([3.0]) + [CallRecord("x", "1", at(22, 1, 0), None, None, True)],
                          shifts=["22:00", "06:00", "14:00"], tz=CST)
    # 10:00 on the 21st is in the 06:00 shift; 01:00 on the 22nd is in the 21st's 22:00 shift.
    assert [(r.label, r.calls) for r in stats.per_shift] == [("2026-11-21 06:00", 1), ("2026-11-21 22:00", 1)]


@pytest.mark.parametrize("shifts, words", [(["7:00"], "'7:00'"), (["07:00", "07:00"], "differ"),
                                           ([], "at least one"), (["24:00"], "'24:00'")])
def test_bad_shifts_are_refused_by_name(shifts, words) -> None:
    with pytest.raises(ValueError, match=words):
        compute_stats([], shifts=shifts)


def test_period_bounds() -> None:
    now = at(21, 15, 30)
    assert period_bounds("today", now, tz=CST) == (SINCE, UNTIL)
    assert period_bounds("week", now, tz=CST) == (at(15, 0, 0), UNTIL)  # the 15th..21st: seven days
    assert period_bounds("shift", now, tz=CST) == (at(21, 7, 0), None)
    assert period_bounds("shift", at(21, 3, 0), tz=CST) == (at(20, 19, 0), None)
    assert period_bounds("all", now, tz=CST) == (None, None)
    with pytest.raises(ValueError, match="unknown period 'year'"):
        period_bounds("year", now)


# ----------------------------------------------------------------------------- export


def test_csv_parses_back_into_its_sections(day_stats, tmp_path: Path) -> None:
    text = stats_csv(day_stats)
    rows = list(csv.reader(io.StringIO(text)))
    sections: dict[str, list[list[str]]] = {}
    header: dict[str, list[str]] = {}
    current: list[str] | None = None
    for row in rows:
        if not row:
            current = None
        elif current is None:
            current = row
        else:
            header[row[0]] = current
            sections.setdefault(row[0], []).append(row)
    assert list(sections) == ["overall", "hour", "shift", "distribution"]
    overall = dict(zip(header["overall"], sections["overall"][0]))
    assert overall["label"] == "2026-11-21"
    assert (overall["calls"], overall["answered"], overall["abandoned"], overall["open"]) == ("19", "16", "2", "1")
    assert (overall["pct_within_10_s"], overall["pct_within_15_s"], overall["pct_within_20_s"]) == (
        "43.8", "68.8", "81.3")  # 43.75, 68.75, 81.25 to one decimal, halves up as reports round
    assert (overall["median_answer_s"], overall["p90_answer_s"]) == ("12.5", "31.0")
    assert len(sections["hour"]) == 24
    assert [row[1] for row in sections["shift"]] == ["2026-11-20 19:00", "2026-11-21 07:00", "2026-11-21 19:00"]
    buckets = [dict(zip(header["distribution"], row)) for row in sections["distribution"]]
    assert [(b["bucket"], b["answered"], b["pct_of_answered"]) for b in buckets][:2] == [
        ("0-5 s", "4", "25.0"), ("5-10 s", "3", "18.8")]  # 4/16, 3/16 = 18.75
    written = write_stats_csv(tmp_path / "day.csv", day_stats)
    assert written.read_text(encoding="utf-8") == text


def test_json_is_serialisable_and_names_the_denominator(day_stats) -> None:
    data = json.loads(json.dumps(stats_json(day_stats)))
    assert data["share_denominator"] == "answered calls"
    assert data["overall"]["within_15_s"] == 11 and data["overall"]["pct_within_15_s"] == 68.8
    assert [(t["name"], t["met"]) for t in data["targets"]] == [("nfpa_10", False), ("nena_15", False),
                                                               ("nena_20", False)]
    assert data["per_shift"][1]["label"] == "2026-11-21 07:00" and len(data["per_hour"]) == 24


# ----------------------------------------------------------------------------- the command line


def run_stats(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TZ=POSIX_CST)
    return subprocess.run([sys.executable, "-m", "ui.cli", "stats", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)


def test_cli_json_and_csv_for_one_day(day_db: Path, tmp_path: Path) -> None:
    out_csv = tmp_path / "report.csv"
    out = run_stats("--db", str(day_db), "--since", "2026-11-21", "--until", "2026-11-21", "--json",
                    "--csv", str(out_csv))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["period"] == "2026-11-21 to 2026-11-21"
    assert (data["overall"]["calls"], data["overall"]["answered"], data["overall"]["abandoned"]) == (19, 16, 2)
    assert data["overall"]["median_answer_s"] == 12.5
    assert [row["label"] for row in data["per_shift"]] == ["2026-11-20 19:00", "2026-11-21 07:00",
                                                           "2026-11-21 19:00"]
    rows = list(csv.reader(out_csv.open(encoding="utf-8", newline="")))
    assert rows[1][:4] == ["overall", "2026-11-21 to 2026-11-21", "19", "16"]


def test_cli_summary_and_csv_to_stdout(day_db: Path) -> None:
    out = run_stats("--db", str(day_db), "--since", "2026-11-21", "--until", "2026-11-21")
    assert out.returncode == 0, out.stderr
    assert "within 15 s: 11/16 = 68.8%" in out.stdout and "NOT met" in out.stdout
    assert "2026-11-20 19:00" in out.stdout
    whole = run_stats("--db", str(day_db), "--csv", "-", "--shifts", "06:00,18:00")
    assert whole.returncode == 0, whole.stderr
    rows = list(csv.reader(io.StringIO(whole.stdout)))
    assert rows[1][:3] == ["overall", "all calls", str(len(CALLS))]
    shift_labels = [row[1] for row in rows if row and row[0] == "shift"]
    # c00 (20th 23:59) is in the 20th's 18:00 shift; c05 (06:59:55) in the 21st's 06:00 shift.
    assert shift_labels == ["2026-11-20 18:00", "2026-11-21 06:00", "2026-11-21 18:00"]


def test_cli_errors_are_one_clear_line(day_db: Path, tmp_path: Path) -> None:
    missing = run_stats("--db", str(tmp_path / "gone.sqlite3"))
    assert missing.returncode == 1 and "gone.sqlite3" in missing.stderr and "Traceback" not in missing.stderr
    both = run_stats("--db", str(tmp_path / "x"), "--csv", "-", "--json")
    assert both.returncode == 2 and "--csv -" in both.stderr
    backwards = run_stats("--db", str(tmp_path / "x"), "--since", "2026-11-22", "--until", "2026-11-21")
    assert backwards.returncode == 2 and "before --since" in backwards.stderr
    bad_date = run_stats("--db", str(tmp_path / "x"), "--since", "21/11/2026")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    unwritable = run_stats("--db", str(day_db), "--csv", str(tmp_path / "no" / "such" / "dir.csv"))
    assert unwritable.returncode == 1 and "dir.csv" in unwritable.stderr and "Traceback" not in unwritable.stderr


def test_statistics_load_no_qt() -> None:
    code = "import sys, app.calls.stats; print(any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
