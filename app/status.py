"""Link state of every configured device, for the status bar and the Technician view."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.snapshots import DeviceStatus, StatusSnapshot


class StatusService(QObject):
    changed = Signal(object)  # StatusSnapshot

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: dict[str, DeviceStatus] = {}
        self._seq = 0

    def declare(self, device_id: str, label: str, kind: str, state: str = "unknown", detail: str = "") -> None:
        """Register a configured device, in display order."""
        self._devices[device_id] = DeviceStatus(device_id, label, kind, state, detail, time.time())

    def update(self, device_id: str, state: str, detail: str = "") -> bool:
        """Set a device's state; True when something changed (so the caller may log it)."""
        old = self._devices.get(device_id)
        if old is None:
            old = DeviceStatus(device_id, device_id, "device")
        if old.state == state and old.detail == detail:
            return False
        since = old.since_wall if old.state == state else time.time()
        self._devices[device_id] = DeviceStatus(device_id, old.label, old.kind, state, detail, since)
        self.publish()
        return old.state != state

    def state_of(self, device_id: str) -> str:
        status = self._devices.get(device_id)
        return status.state if status else "unknown"

    def snapshot(self) -> StatusSnapshot:
        return StatusSnapshot(tuple(self._devices.values()), self._seq)

    def publish(self) -> None:
        self._seq += 1
        self.changed.emit(self.snapshot())
