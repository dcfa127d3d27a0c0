"""The position's event log: every select, key, unkey, carrier, call and fault, with a timestamp.

Lives on the control thread. Each record goes to the store writer (durable, in order) and out to the
GUI's live log. Records are never dropped here; the writer retries until the disk takes them.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.snapshots import LoggedEvent
from app.store import StoreWriter


class EventLog(QObject):
    logged = Signal(object)  # LoggedEvent

    def __init__(self, store: StoreWriter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store

    def log(self, kind: str, *, channel: str = "", source: str = "", detail: str = "", on_committed=None) -> None:
        wall = time.time()
        self._store.log_event(kind, channel=channel, source=source, detail=detail, wall=wall, on_committed=on_committed)
        self.logged.emit(LoggedEvent(wall, kind, channel, source, detail))
