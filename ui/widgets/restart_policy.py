"""When the sound system can only come back in a fresh process, restart the console, safely.

PortAudio cannot reconnect to a JACK server that died under it (hardware/audio/supervisor.py reports
that as FAULT, ``AudioSnapshot.restart_required``). A console without audio cannot be heard nor
transmit, so it counts down ``restart_after_s`` and restarts itself, but never in the middle of a
call: while a call is in hand it waits, and restarts once the call is released. 0 means the operator
decides (RESTART CONSOLE NOW).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.snapshots import AudioSnapshot

RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: ui.startup sees it and starts the console again
TICK_MS = 250


class RestartPolicy(QObject):
    def __init__(self, banner, call_in_hand: Callable[[], bool], restart: Callable[[str], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._banner = banner
        self._call_in_hand = call_in_hand
        self._restart = restart
        self._deadline: float | None = None  # monotonic time of the automatic restart
        self._armed = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def armed(self) -> bool:
        return self._armed

    def update(self, snap: AudioSnapshot) -> None:
        if not snap.restart_required:
            self._armed = False
            self._deadline = None
            self._timer.stop()
            self._banner.show_restart("")
            return
        if self._armed:
            return
        self._armed = True
        if snap.restart_after_s > 0:
            self._deadline = time.monotonic() + snap.restart_after_s
            self._timer.start()
            self._tick()
        else:
            self._banner.show_restart("Sound returns only after a restart.")

    def _tick(self) -> None:
        if self._deadline is None:
            return
        if self._call_in_hand():
            # Hold the count at its full length until the call is released.
            self._deadline = max(self._deadline, time.monotonic() + TICK_MS / 1000.0)
            self._banner.show_restart("The console restarts after this call.")
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._timer.stop()
            self._deadline = None
            self._restart("sound system lost; automatic restart")
            return
        self._banner.show_restart(f"Restarting in {math.ceil(left)} s to bring sound back.")
