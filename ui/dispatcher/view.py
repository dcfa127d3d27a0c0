"""The Dispatcher role: channel tiles, selection and push-to-talk; receive meters, recall, mute,
monitor, instant transmit and emergency acknowledgement on each tile; alerts, talk back and patches
in the action bar; the headset's output level in the header."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.snapshots import AudioSnapshot, ConsoleSnapshot
from ui.dispatcher.action_bar import ActionBar, next_patch_id
from ui.dispatcher.channel_grid import ChannelGrid
from ui.dispatcher.ptt_bar import PttBar
from ui.widgets.level_meter import LevelMeter
from ui.widgets.meter_poll import MeterPoll, levels_source
from ui.widgets.plain import plain_label, set_plain


def headset_meters(position: Any, meters: MeterPoll) -> tuple[QWidget | None, list[LevelMeter]]:
    """"HEADSET  L ▬▬▬  R ▬▬▬": the level the operator hears, one meter per mapped ear."""
    amap = getattr(position, "audio_map", None)
    endpoints = getattr(amap, "endpoints", None)
    ears = [(ear, getattr(endpoints, f"headset_{side}", None)) for ear, side in (("L", "left"), ("R", "right"))]
    ears = [(ear, column) for ear, column in ears if column is not None]
    if not ears:
        return None, []
    box = QWidget()
    box.setObjectName("headsetMeters")
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(6)
    row.addWidget(plain_label("HEADSET", object_name="viewHint"))
    found = []
    for ear, column in ears:
        meter = LevelMeter(box, thin=True, object_name="headsetMeter")
        meter.setFixedWidth(110)
        meter.setAccessibleName(f"headset {ear} level")
        meters.add(meter, "out", column)
        row.addWidget(plain_label(ear, object_name="viewHint"))
        row.addWidget(meter)
        found.append(meter)
    return box, found


class DispatcherView(QWidget):
    """Renders ConsoleSnapshots; sends select_channel and ptt("console", …) to ``position``."""

    def __init__(self, position: Any, parent: QWidget | None = None, *, meters: MeterPoll | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dispatcherView")
        self._position = position
        self.snapshot = ConsoleSnapshot()
        self.meters = meters if meters is not None else MeterPoll(levels_source(position), self)
        self.headset_box, self.headset_meters = headset_meters(position, self.meters)

        self.title_label: QLabel = plain_label("CHANNELS", object_name="viewTitle")
        self.summary_label: QLabel = plain_label(object_name="viewSummary")
        self.help_label: QLabel = plain_label(
            "Click selects · Ctrl+click (or Ctrl+Space) adds to multi-select", object_name="viewHint"
        )
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label)
        title_row.addSpacing(16)
        title_row.addWidget(self.summary_label)
        title_row.addStretch(1)
        if self.headset_box is not None:
            title_row.addWidget(self.headset_box)
            title_row.addSpacing(24)
        title_row.addWidget(self.help_label)

        amap = getattr(position, "audio_map", None)
        self.grid = ChannelGrid(meters=self.meters, rx_columns=amap.radio_rx if amap is not None else None)
        self.grid.tile_clicked.connect(self._on_tile_clicked)
        self.grid.recall_requested.connect(lambda channel_id: self._position.replay_last(channel_id))
        self.grid.mute_requested.connect(lambda channel_id, muted: self._position.set_mute(channel_id, muted))
        self.grid.monitor_requested.connect(lambda channel_id, on: self._position.monitor(channel_id, on))
        self.grid.instant_requested.connect(
            lambda channel_id, held: self._position.instant_transmit(channel_id, "console", held))
        self.grid.ack_requested.connect(lambda channel_id: self._position.acknowledge_emergency(channel_id))
        self.grid.tune_requested.connect(lambda channel_id, name: self._position.tune(channel_id, name))
        self.grid.signal_requested.connect(
            lambda channel_id, kind, params: self._position.send_signal(kind, params, (channel_id,)))
        scroll = QScrollArea(self)
        scroll.setObjectName("channelScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.grid)

        self.ptt_bar = PttBar(self)
        self.ptt_bar.held.connect(self._on_ptt_held)
        self.actions = ActionBar(self)
        self.actions.alert.connect(lambda kind: self._position.send_alert(kind, self._selected()))
        self.actions.talk_back.connect(lambda held: self._position.talk_back("console", held))
        self.actions.patch.connect(self._patch_selected)
        self.actions.unpatch.connect(self._unpatch_selected)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(12)
        layout.addLayout(title_row)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.actions)
        layout.addWidget(self.ptt_bar)

        position.console_changed.connect(self.render)
        first = getattr(position, "console", None)
        if first is not None:
            self.render(first)
        audio_changed = getattr(position, "audio_changed", None)
        if audio_changed is not None:
            audio_changed.connect(self.render_audio)
        self.render_audio(getattr(position, "audio", None) or AudioSnapshot())

    def render(self, snapshot: ConsoleSnapshot) -> None:
        self.snapshot = snapshot
        self.grid.render(snapshot)
        self.ptt_bar.render(snapshot)
        self.actions.render(snapshot)
        channels = snapshot.channels
        busy = sum(1 for view in channels if view.receiving or view.transmitting)
        down = sum(1 for view in channels if view.link in ("down", "fault"))
        parts = [f"{len(channels)} channels", f"{sum(view.selected for view in channels)} selected"]
        if busy:
            parts.append(f"{busy} active")
        if down:
            parts.append(f"{down} link down")
        emergencies = sum(1 for view in channels if view.emergency)
        if emergencies:
            parts.append(f"⚠ {emergencies} EMERGENCY")
        set_plain(self.summary_label, " · ".join(parts))

    def render_audio(self, snapshot: AudioSnapshot) -> None:
        self.grid.render_audio(snapshot)

    def _on_tile_clicked(self, channel_id: str, toggle: bool) -> None:
        self._position.select_channel(channel_id, exclusive=not toggle)

    def _on_ptt_held(self, held: bool) -> None:
        self._position.ptt("console", held)

    def _selected(self) -> tuple[str, ...]:
        return tuple(view.id for view in self.snapshot.channels if view.selected)

    def _patch_selected(self) -> None:
        selected = self._selected()
        if len(selected) >= 2:
            self._position.patch(next_patch_id(self.snapshot), selected)

    def _unpatch_selected(self) -> None:
        groups = {view.patch_group for view in self.snapshot.channels if view.selected and view.patch_group}
        for group in sorted(groups):
            self._position.unpatch(group)
