"""The Technician's INVENTORY tab: what is plugged in, and each configured device found / open / healthy.

Hot-plug: while the tab is shown, serial and MIDI ports are listed again every 2 s on a worker thread (never the GUI thread);
what appeared or went away since the last scan is shown above the tables. Sound devices are listed in a
child process (``python -m hardware.discovery``) at the first scan and on RESCAN, so the console's own
PortAudio - which may be running the sound device - is never re-initialised under it. The configured
devices' open/healthy columns follow the position's link states as they change. Everything a device
or the profile names is shown as plain text (table cells are plain).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.inventory import Inventory, build_inventory
from hardware.discovery import Discovery, discover, discovery_from_dict
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.tables import row_table

SCAN_MS = 2000
DISCOVERED_HEADERS = ("Kind", "Name", "Details")
CONFIGURED_HEADERS = ("Device", "Id", "Kind", "Address", "Found", "Open", "Healthy", "Found as / state")


def scan_in_child(timeout_s: float = 20.0) -> Discovery:
    """A full scan in a fresh process: PortAudio there lists the sound devices as they are now."""
    done = subprocess.run([sys.executable, "-m", "hardware.discovery"], capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise OSError(f"device scan process exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return discovery_from_dict(json.loads(done.stdout))


def default_scan(with_audio: bool) -> Discovery:
    if not with_audio:
        return discover(audio=False)
    try:
        return scan_in_child()
    except (OSError, ValueError, subprocess.SubprocessError) as err:  # a frozen build, a broken library
        scan = discover(audio=False)
        return replace(scan, problems=scan.problems + (f"audio: not listed ({err})",))


def discovered_rows(discovery: Discovery) -> list[Row]:
    rows: list[Row] = []
    for p in discovery.serial_ports:
        parts = [p.description, f"USB {p.usb_id}" if p.usb_id else "", f"S/N {p.serial_number}" if p.serial_number else "",
                 p.manufacturer]
        rows.append((Cell("serial"), Cell(p.device), Cell(" · ".join(x for x in parts if x))))
    for a in discovery.audio_devices:
        rows.append((Cell(f"audio ({a.backend})"), Cell(f"[{a.index}] {a.name}"),
                     Cell(f"{a.hostapi} · {a.max_inputs} in · {a.max_outputs} out · {a.default_samplerate:g} Hz")))
    for m in discovery.midi_ports:
        rows.append((Cell(f"MIDI {m.direction}"), Cell(m.name), Cell(m.api)))
    for problem in discovery.problems:
        rows.append((Cell("not listed", "warn"), Cell(""), Cell(problem, tooltip=problem)))
    return rows


def _flag(value: bool | None) -> Cell:
    if value is None:
        return Cell("?")
    return Cell("yes", "rx") if value else Cell("NO", "tx")


def configured_rows(inventory: Inventory) -> list[Row]:
    return [(Cell(c.label), Cell(c.id), Cell(f"{c.kind}/{c.driver_kind}"), Cell(c.address), _flag(c.found),
             _flag(c.open), _flag(c.healthy),
             Cell(" · ".join(x for x in (c.found_as, c.state, c.detail) if x), tooltip=c.detail))
            for c in inventory.configured]


def changes_between(before: Discovery | None, after: Discovery) -> list[str]:
    """"+ /dev/ttyUSB0", "- MIDI in Pedal": what was plugged in or pulled out between two scans."""
    if before is None:
        return []

    def names(d: Discovery) -> set[str]:
        found = {f"serial {p.device}" for p in d.serial_ports} | {f"MIDI {m.direction} {m.name}" for m in d.midi_ports}
        return found | {f"audio {a.name}" for a in d.audio_devices} if d.audio_devices else found

    old, new = names(before), names(after)
    if not after.audio_devices:  # a serial/MIDI-only scan says nothing about sound devices
        old = {n for n in old if not n.startswith("audio ")}
    return [f"+ {n}" for n in sorted(new - old)] + [f"- {n}" for n in sorted(old - new)]


class _ScanResult(QObject):
    """Carries a finished scan from the worker thread to the GUI thread (queued)."""

    done = Signal(object, bool)  # Discovery, with audio


class InventoryPanel(QWidget):
    scanned = Signal(object)  # Inventory, after each scan is shown

    def __init__(self, position: Any, parent: QWidget | None = None, *, scan: Callable[[bool], Discovery] = default_scan,
                 interval_ms: int = SCAN_MS, auto: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("inventoryPanel")
        self.position = position
        self._scan = scan
        self._busy = False
        self._want_audio = True  # the first scan lists the sound devices
        self._audio: tuple = ()  # the last sound device list (kept between serial/MIDI-only scans)
        self._audio_problems: tuple[str, ...] = ()
        self.discovery: Discovery | None = None
        self.inventory: Inventory | None = None
        self.changes: list[str] = []

        self.discovered = RowsModel(DISCOVERED_HEADERS, self)
        self.configured = RowsModel(CONFIGURED_HEADERS, self)
        self.discovered_view: QTableView = row_table(self.discovered, self, object_name="inventoryDiscovered")
        self.configured_view: QTableView = row_table(self.configured, self, object_name="inventoryConfigured")
        self.status: QLabel = plain_label("scanning…", object_name="viewHint")
        self.change_label: QLabel = plain_label("", object_name="viewHint")
        self.rescan_button = QPushButton("RESCAN (with sound devices)", self)
        self.rescan_button.setObjectName("inventoryRescan")
        self.rescan_button.clicked.connect(self.rescan)

        head = QHBoxLayout()
        head.addWidget(plain_label("CONFIGURED DEVICES", object_name="panelTitle"))
        head.addStretch(1)
        head.addWidget(self.status)
        head.addWidget(self.rescan_button)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.configured_view)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(plain_label("PLUGGED IN", object_name="panelTitle"))
        lower_layout.addWidget(self.change_label)
        lower_layout.addWidget(self.discovered_view, 1)
        split.addWidget(lower)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(split, 1)

        self._result = _ScanResult()  # no parent: a scan that outlives the panel still has a live sender
        self._result.done.connect(self._show)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.scan_now)
        status_changed = getattr(position, "status_changed", None)
        if status_changed is not None:
            status_changed.connect(self._on_status)
        self._auto = auto

    # Scans run only while the tab is on screen: a hidden inventory costs nothing.
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self._auto:
            self.timer.start()
            self.scan_now()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.timer.stop()

    def rescan(self) -> None:
        """On demand: serial, MIDI and the sound devices (in a child process)."""
        self._want_audio = True
        self.scan_now()

    def scan_now(self) -> None:
        if self._busy:
            return
        self._busy = True
        with_audio, self._want_audio = self._want_audio, False
        set_plain(self.status, "scanning sound devices…" if with_audio else "scanning…")
        self.rescan_button.setEnabled(False)
        threading.Thread(target=self._run_scan, args=(with_audio,), name="inventory-scan", daemon=True).start()

    def _run_scan(self, with_audio: bool) -> None:  # the worker thread
        try:
            result = self._scan(with_audio)
        except Exception as err:  # noqa: BLE001 - a failed scan is shown, the panel keeps scanning
            result = Discovery(problems=(f"scan failed: {type(err).__name__}: {err}",))
        try:
            self._result.done.emit(result, with_audio)
        except RuntimeError:  # the panel was closed while this scan ran
            pass

    def _show(self, discovery: Discovery, with_audio: bool) -> None:
        self._busy = False
        self.rescan_button.setEnabled(True)
        if with_audio:
            self._audio = discovery.audio_devices
            self._audio_problems = tuple(p for p in discovery.problems if p.startswith("audio"))
        else:
            discovery = replace(discovery, audio_devices=self._audio,
                                problems=self._audio_problems + discovery.problems)
        changed = changes_between(self.discovery, discovery)
        if changed:
            self.changes = changed
            set_plain(self.change_label, "changed at last scan: " + "  ".join(changed))
        self.discovery = discovery
        self.discovered.set_rows(discovered_rows(discovery))
        self._render()
        set_plain(self.status, f"{len(discovery.serial_ports)} serial · {len(discovery.audio_devices)} audio · "
                               f"{len(discovery.midi_ports)} MIDI")

    def _on_status(self, _snapshot: Any) -> None:
        if self.discovery is not None:
            self._render()

    def _render(self) -> None:
        assert self.discovery is not None
        self.inventory = build_inventory(self.discovery, getattr(self.position, "profile", None),
                                         getattr(self.position, "status", None))
        self.configured.set_rows(configured_rows(self.inventory))
        self.scanned.emit(self.inventory)
