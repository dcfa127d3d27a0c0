"""Run the report's steps in order, with progress and a cancel flag (no Qt widgets).

``STEPS`` is the list of (name, title, run, slow) the report is made of; ``collect`` runs them one
after another, calling ``progress(index, total, title)`` before each. Cancelling (``ctx.cancel.set()``,
from any thread) stops at the next step: what was gathered is kept, the steps not run are listed as
SKIPPED "cancelled", and the report is marked cancelled. A step that raises becomes a FAIL naming the
error, so one broken driver never costs the technician the rest of the report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

from app.report import steps
from app.report.model import FAIL, SKIPPED, Report, Section
from app.report.redact import redact
from app.report.steps import ReportContext

log = logging.getLogger(__name__)


class Step(NamedTuple):
    name: str  # the section's id
    title: str  # what the progress line shows
    run: Callable[[ReportContext], Section]


STEPS: tuple[Step, ...] = (
    Step("versions", "Versions", steps.versions),
    Step("platform", "Platform", steps.platform_info),
    Step("profile", "Profile", steps.profile_section),
    Step("links", "Link states of the configured devices", steps.links),
    Step("inventory", "Inventory", steps.inventory),
    Step("serial", "Serial ports", steps.serial_ports),
    Step("rigctld", "rigctld links", steps.rigctld_links),
    Step("audio-latency", "Audio round-trip latency", steps.audio_latency),
    Step("bench-audio", "Audio processing time", steps.bench_audio),
    Step("events", "Event log", steps.recent_events),
)

Progress = Callable[[int, int, str], None]


def run_step(step: Step, ctx: ReportContext) -> Section:
    """One step's section, timed; an exception becomes a FAIL that names it."""
    started = time.monotonic()
    try:
        section = step.run(ctx)
    except Exception as err:
        log.warning("report step %s stopped with %s: %s", step.name, type(err).__name__, err)
        log.debug("report step %s", step.name, exc_info=True)
        section = Section(step.name, step.title, FAIL, f"the step stopped with {type(err).__name__}: {err}")
    # Belt and braces: a URL password in a driver's message is removed wherever it shows up.
    return Section(section.name, section.title, section.status, redact(section.summary), redact(section.data),
                   time.monotonic() - started)


def collect(ctx: ReportContext, steps_to_run: Sequence[Step] = STEPS, progress: Progress | None = None) -> Report:
    """Run every step (on this thread) and return the report, cancelled or not."""
    profile = ctx.profile
    report = Report(created_wall=time.time(), position=profile.position.name if profile is not None else "",
                    profile_path=ctx.profile_path)
    total = len(steps_to_run)
    for index, step in enumerate(steps_to_run):
        if ctx.cancelled:
            report.cancelled = True
            report.sections.append(Section(step.name, step.title, SKIPPED, "cancelled before this step ran"))
            continue
        if progress is not None:
            progress(index, total, step.title)
        report.sections.append(run_step(step, ctx))
    if ctx.cancelled:
        report.cancelled = True  # cancelled during the last step: what it gathered is kept
    if progress is not None:
        progress(total, total, "cancelled" if report.cancelled else "done")
    report.finished_wall = time.time()
    return report
