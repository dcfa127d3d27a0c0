"""`dispatch-console diag report -o FILE`: the technician's report, headless (app/report does the work).

Progress goes to stderr one line per step; Ctrl+C stops at the next step and still writes what was
gathered, marked cancelled (a second Ctrl+C quits at once). Exit codes: 0 every section passed or was
skipped, 1 a section failed or the report was cancelled (it is written all the same), 2 bad arguments
or the report could not be written.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
FORMATS = ("html", "json", "both")  # app.report.write.FORMATS (not imported here: argparse only)


def add_report_parser(checks: Any, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "report", parents=[profile_options],
        help="write the technician's report: versions, platform, profile (secrets removed), inventory, tests",
        description="Gathers versions, the platform, the profile with its secrets removed, the inventory, "
                    "the configured devices' link states (a position is started on the profile's drivers for "
                    "a few seconds; nothing is keyed), serial open checks, rigctld link checks, the audio "
                    "round-trip latency where the device has a loop, `bench audio` figures and the event "
                    "log's recent errors. HTML for people, JSON for tools. Ctrl+C stops at the next step and "
                    "writes what was gathered.",
    )
    cmd.add_argument("-o", "--output", required=True, metavar="FILE",
                     help="where to write; with --format both, FILE's suffix becomes .html and .json")
    cmd.add_argument("--format", choices=FORMATS, default="html", help="html (default), json or both")
    cmd.add_argument("--skip-slow", action="store_true",
                     help="leave out the steps that take seconds (link states, latency, bench audio)")


def report_context(args: argparse.Namespace) -> Any:
    """The steps' context from --config/--demo; a profile that cannot be read is reported, not fatal."""
    from app.config import ProfileError, storage_path
    from app.report import ReportContext
    from ui.cli import resolve_profile

    ctx = ReportContext(skip_slow=args.skip_slow)
    try:
        profile, path, _demo = resolve_profile(getattr(args, "config", None), getattr(args, "demo", False))
    except ProfileError as err:
        ctx.profile_problem, ctx.profile_failed = f"the profile cannot be read: {err}", True
        ctx.profile_path = str(getattr(args, "config", "") or "")
        return ctx
    except FileNotFoundError as err:
        ctx.profile_problem = f"no position profile at {err.args[0]}; use --config FILE or --demo"
        return ctx
    ctx.profile, ctx.profile_path = profile, str(path)
    ctx.store_path = storage_path(profile)
    return ctx


def report_command(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication

    from app.report import FAIL, collect
    from app.report.write import output_paths, write_report

    paths = output_paths(args.output, args.format)
    for path in paths.values():
        if path.is_dir():
            print(f"diag report: -o {path} is a folder; name a file", file=sys.stderr)
            return EXIT_USAGE
    ctx = report_context(args)
    app = QCoreApplication.instance() or QCoreApplication([])  # the link check runs a position's event loop

    def progress(index: int, total: int, title: str) -> None:
        step = f"[{index + 1}/{total}] {title}" if index < total else f"[{total}/{total}] {title}"
        print(f"diag report: {step}", file=sys.stderr, flush=True)

    def interrupted(_signum: int, _frame: Any) -> None:
        print("diag report: cancelling at the next step (Ctrl+C again quits)", file=sys.stderr, flush=True)
        ctx.cancel.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        report = collect(ctx, progress=progress)
    finally:
        signal.signal(signal.SIGINT, previous)
    app.processEvents()  # what the stopped position left queued
    try:
        write_report(report, paths)
    except OSError as err:
        print(f"diag report: cannot write {err.filename or args.output}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    for section in report.sections:
        print(f"{section.status:<8} {section.name:<14} {section.summary}")
    for path in paths.values():
        print(f"report written to {path}" + (" (cancelled)" if report.cancelled else ""))
    return EXIT_ERROR if report.cancelled or any(s.status == FAIL for s in report.sections) else EXIT_OK
