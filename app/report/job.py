"""A report gathered off the GUI thread, with progress and cancel as Qt signals (QtCore only).

The Technician view's REPORT button starts one. The steps run on a plain worker thread against the
running position (its link states are read, never a second position started; the ports it holds are
not reopened). ``cancel()`` stops at the next step; the report is still written, marked cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.report.collect import STEPS, Step, collect
from app.report.steps import ReportContext
from app.report.write import write_report


def context_for_position(position: Any, *, skip_slow: bool = False) -> ReportContext:
    """The steps' context for a running position (the GUI's)."""
    profile = getattr(position, "profile", None)
    info = getattr(position, "info", None)
    data_path = getattr(position, "data_path", None)
    return ReportContext(profile=profile, profile_path=getattr(info, "profile_path", "") or "",
                         profile_problem="" if profile is not None else "the position has no profile",
                         store_path=Path(data_path) if data_path else None, position=position,
                         skip_slow=skip_slow)


class ReportJob(QObject):
    """One run. Signals arrive queued on the thread that made the job."""

    progress = Signal(int, int, str)  # step index, steps, title ("done"/"cancelled" at the end)
    finished = Signal(object, object, str)  # Report, list of written paths, error text ("" when written)

    def __init__(self, ctx: ReportContext, paths: dict[str, Path], steps: Sequence[Step] = STEPS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.paths = paths
        self.steps = tuple(steps)
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a report job runs once")
        self._thread = threading.Thread(target=self._run, name="report", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        """Stop at the next step (any thread); what was gathered is still written."""
        self.ctx.cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        report = collect(self.ctx, self.steps, progress=self._progress)
        try:
            written, error = write_report(report, self.paths), ""
        except OSError as err:
            written, error = [], f"cannot write {err.filename or 'the report'}: {err.strerror or err}"
        try:
            self.finished.emit(report, written, error)
        except RuntimeError:  # the panel went away while the report ran; the files are written
            pass

    def _progress(self, index: int, total: int, title: str) -> None:
        try:
            self.progress.emit(index, total, title)
        except RuntimeError:  # the panel went away: stop at the next step
            self.ctx.cancel.set()
