"""`dispatch-console stats`: answer-time statistics of the position's 9-1-1 calls (headless).

Reads the store read-only with the same code the call-taker panel uses and prints a summary, JSON,
or CSV for the annual report. Dates are local calendar days; --until's day is included.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def add_stats_parser(subparsers, profile_options: argparse.ArgumentParser) -> None:
    stats = subparsers.add_parser(
        "stats", parents=[profile_options],
        help="answer times of 9-1-1 calls: shares within 10/15/20 s, abandoned, per hour and shift",
    )
    stats.add_argument("--since", metavar="YYYY-MM-DD", type=_day, help="first day (local time); default: all")
    stats.add_argument("--until", metavar="YYYY-MM-DD", type=_day, help="last day, included; default: all")
    stats.add_argument("--csv", metavar="FILE|-", help="also write the tables as CSV to FILE (- = stdout, alone)")
    stats.add_argument("--json", action="store_true", help="print JSON instead of the summary")
    stats.add_argument("--db", metavar="FILE", help="read this database instead of the profile's")
    stats.add_argument("--shifts", metavar="HH:MM,...",
                       help="shift start times (default: the profile's [calls] shifts, else 07:00,19:00)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected YYYY-MM-DD") from None


def stats_command(args: argparse.Namespace) -> int:
    from app.calls.stats import (
        DEFAULT_SHIFTS,
        compute_stats,
        day_start,
        load_call_records,
        parse_shifts,
        stats_csv,
        stats_json,
        summary_lines,
        write_stats_csv,
    )
    from app.store import StoreError

    if args.csv == "-" and args.json:
        return _usage("--csv - and --json both write to stdout; give --csv a file name")
    if args.since and args.until and args.until < args.since:
        return _usage(f"--until {args.until} is before --since {args.since}")
    located = _store_and_shifts(args)
    if isinstance(located, int):
        return located
    db, shifts = located
    if args.shifts is not None:
        shifts = tuple(part.strip() for part in args.shifts.split(","))
    shifts = shifts or DEFAULT_SHIFTS
    try:
        parse_shifts(shifts)
    except ValueError as err:
        return _usage(f"--shifts: {err}")
    if not db.exists():
        print(f"no event log yet at {db}", file=sys.stderr)
        return EXIT_ERROR

    since = day_start(args.since) if args.since else None
    until = day_start(args.until + timedelta(days=1)) if args.until else None
    try:
        records = load_call_records(db, since, until)
    except StoreError as err:
        print(err, file=sys.stderr)
        return EXIT_ERROR
    stats = compute_stats(records, shifts=shifts, period=_period_text(args.since, args.until))

    if args.csv == "-":
        sys.stdout.write(stats_csv(stats))
        return EXIT_OK
    if args.csv:
        try:
            write_stats_csv(args.csv, stats)
        except OSError as err:
            print(f"cannot write CSV to {args.csv}: {err.strerror or err}", file=sys.stderr)
            return EXIT_ERROR
    if args.json:
        print(json.dumps(stats_json(stats), indent=2))
    else:
        print("\n".join(summary_lines(stats)))
    return EXIT_OK


def _store_and_shifts(args: argparse.Namespace) -> tuple[Path, tuple[str, ...]] | int:
    """The database to read and the profile's shifts; an exit code when there is no profile to go by."""
    from ui.cli import profile_and_db

    found = profile_and_db(args)
    if isinstance(found, int):
        return found
    profile, db = found
    return db, tuple(profile.calls.shifts) if profile is not None else ()


def _period_text(since: date | None, until: date | None) -> str:
    if since is None and until is None:
        return "all calls"
    return f"{since.isoformat() if since else 'start'} to {until.isoformat() if until else 'now'}"


def _usage(message: str) -> int:
    print(f"dispatch-console stats: {message}", file=sys.stderr)
    return EXIT_USAGE
