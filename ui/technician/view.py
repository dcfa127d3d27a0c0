"""The Technician role: every device's link, the live event log, where this position's files are,
the ALI spill inspector (a second tab) and the sound device with live meters (the AUDIO tab)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from app.snapshots import AudioSnapshot, LoggedEvent, StatusSnapshot
from ui.technician.ali_inspector import AliInspector
from ui.technician.audio_panel import AudioPanel
from ui.technician.device_table import DeviceTable
from ui.technician.event_log import EventLogView
from ui.technician.inputs_panel import InputsPanel
from ui.technician.inventory_panel import InventoryPanel
from ui.technician.position_info import PositionInfoPanel
from ui.technician.radios_panel import RadiosPanel
from ui.technician.report_panel import ReportPanel
from ui.technician.scope_panel import ScopePanel
from ui.technician.serial_panel import SerialPanel
from ui.widgets.meter_poll import MeterPoll, levels_source
from ui.widgets.plain import plain_label


def _titled(title: str, body: QWidget, extra: QWidget | None = None) -> QWidget:
    box = QWidget()
    head = QHBoxLayout()
    head.addWidget(plain_label(title, object_name="panelTitle"))
    head.addStretch(1)
    if extra is not None:
        head.addWidget(extra)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    layout.addLayout(head)
    layout.addWidget(body, 1)
    return box


def ali_settings(position: Any) -> tuple[str, bool]:
    """(layout name or file, check byte on) from the position's profile; the schema's defaults without [ali]."""
    profile = getattr(position, "profile", None)
    ali = getattr(profile, "ali", None)
    if ali is None:
        return "raw", True
    layout = ali.layout
    if layout.endswith(".toml") or "/" in layout or "\\" in layout:
        resolved = profile.resolved_path(layout)  # a site file, relative to the profile's folder
        layout = str(resolved) if resolved is not None else layout
    return layout, bool(ali.bcc)


class TechnicianView(QWidget):
    """Renders StatusSnapshots and appends every LoggedEvent."""

    LOG_LIMIT = 500

    def __init__(self, position: Any, parent: QWidget | None = None, *, meters: MeterPoll | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("technicianView")
        self.meters = meters if meters is not None else MeterPoll(levels_source(position), self)
        self.devices = DeviceTable(self)
        self.log = EventLogView(self.LOG_LIMIT, self)
        self.info = PositionInfoPanel(position.info, self)
        self.log_hint: QLabel = plain_label(
            f"last {self.LOG_LIMIT} events · scroll up to pause following", object_name="viewHint"
        )

        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(_titled("POSITION", self.info), 1)
        top.addWidget(_titled("DEVICES", self.devices), 3)
        top_box = QWidget()
        top_box.setLayout(top)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top_box)
        split.addWidget(_titled("EVENT LOG", self.log, self.log_hint))
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)

        layout_name, bcc = ali_settings(position)
        self.inspector = AliInspector(layout_name, bcc=bcc, position=position)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("technicianTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(split, "DEVICES · EVENT LOG")
        self.tabs.addTab(self.inspector, "ALI INSPECTOR")
        self.inventory = InventoryPanel(position)
        self.tabs.addTab(self.inventory, "INVENTORY")
        self.radios = RadiosPanel(position)
        self.tabs.addTab(self.radios, "RADIOS")
        self.serial = SerialPanel(position)
        self.tabs.addTab(self.serial, "SERIAL")
        self.audio = AudioPanel(position, self.meters)
        self.tabs.addTab(self.audio, "AUDIO")
        self.scope = ScopePanel(position)
        self.tabs.addTab(self.scope, "SCOPE")
        self.inputs = InputsPanel(position)
        self.tabs.addTab(self.inputs, "INPUTS")
        self.report = ReportPanel(position)
        self.tabs.addTab(self.report, "REPORT")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.addWidget(self.tabs)

        position.status_changed.connect(self.render)
        position.event_logged.connect(self.append_event)
        first = getattr(position, "status", None)
        if first is not None:
            self.render(first)
        audio_changed = getattr(position, "audio_changed", None)
        if audio_changed is not None:
            audio_changed.connect(self.render_audio)

    def render(self, snapshot: StatusSnapshot) -> None:
        self.devices.render(snapshot)

    def render_audio(self, snapshot: AudioSnapshot) -> None:
        self.audio.render(snapshot)

    def append_event(self, event: LoggedEvent) -> None:
        self.log.append(event)
