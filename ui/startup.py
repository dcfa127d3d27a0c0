"""Starting the desktop console: pick the profile, offer the demo when there is none, install the
fail-safes that unkey every transmitter on a signal or an unhandled exception, then run the GUI.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.config import ProfileError, config_dir, default_profile_path
from app.position import Position
from app.store import StoreError
from ui.cli import resolve_profile
from ui.gui import run_gui
from ui.main_window import THEME_KEY
from ui.theme import apply_theme
from ui.widgets.restart_policy import RESTART_EXIT_CODE

log = logging.getLogger(__name__)

SETTINGS_FILE = "ui-state.ini"


def main_gui(config: str | None, demo: bool, role: str | None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings_path = config_dir() / SETTINGS_FILE
    # Themed from the first dialog on: a white box is a glare in a dark dispatch room.
    apply_theme(app, QSettings(str(settings_path), QSettings.Format.IniFormat).value(THEME_KEY))
    chosen = _choose_profile(config, demo)
    if chosen is None:
        return 1
    profile, path, is_demo = chosen
    if role:
        profile = profile.model_copy(update={"position": profile.position.model_copy(update={"role": role})})
    position = Position(profile, profile_path=str(path), demo=is_demo)
    _install_failsafes(app, position)
    try:
        position.start()
    except StoreError as err:
        position.stop()
        _error_box("The event store cannot be opened", str(err))
        return 1
    code = run_gui(position, settings_path=settings_path)
    if code == RESTART_EXIT_CODE:
        position.stop()  # already stopped on the way out of the event loop; makes sure
        _start_afresh()
    return code


def _start_afresh() -> None:
    """Replace this process with a fresh console, same command line (a fresh PortAudio, too)."""
    log.warning("restarting the console")
    sys.stdout.flush()
    sys.stderr.flush()
    if getattr(sys, "frozen", False):  # the PyInstaller bundle: its executable is the console
        os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
    os.execv(sys.executable, list(sys.orig_argv))


def _choose_profile(config: str | None, demo: bool):
    """(profile, path, is_demo), or None when the user chose to quit."""
    try:
        return resolve_profile(config, demo)
    except FileNotFoundError:
        question = (f"No position profile is configured.\n\nThe console looks for one at:\n"
                    f"{default_profile_path()}\n(or pass --config FILE).\n\n"
                    "Start the demo position on simulated hardware instead?")
    except ProfileError as err:
        print(err, file=sys.stderr)
        question = (f"The position profile has errors and cannot be used:\n\n{err}\n\n"
                    "Start the demo position on simulated hardware instead?")
    box = QMessageBox(QMessageBox.Icon.Question, "Dispatch Console", question)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the profile path and errors are outside text
    start = box.addButton("Start demo", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(start)
    box.exec()
    if box.clickedButton() is not start:
        return None
    return resolve_profile(None, True)


def _install_failsafes(app: QApplication, position: Position) -> None:
    """SIGINT/SIGTERM and unhandled exceptions unkey every transmitter before anything else."""

    def on_signal(signum, _frame) -> None:
        position.unkey_all(f"signal {signal.Signals(signum).name}")
        # Queued, not app.quit(): a quit asked for before the event loop runs is lost, and the signal
        # may come between the position's start and app.exec().
        QTimer.singleShot(0, app.quit)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    # Python runs signal handlers only between bytecodes; a short timer lets it in while Qt waits.
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(200)

    previous = sys.excepthook

    def on_exception(kind, value, tb) -> None:
        log.critical("unhandled exception: %s", "".join(traceback.format_exception(kind, value, tb)))
        position.unkey_all(f"unhandled exception: {kind.__name__}")
        previous(kind, value, tb)

    sys.excepthook = on_exception


def _error_box(title: str, text: str) -> None:
    print(f"{title}: {text}", file=sys.stderr)
    box = QMessageBox(QMessageBox.Icon.Critical, "Dispatch Console", f"{title}\n\n{text}")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()

