"""The Dispatcher role: channel tiles, selection and push-to-talk."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.snapshots import ConsoleSnapshot
from ui.dispatcher.channel_grid import ChannelGrid
from ui.dispatcher.ptt_bar import PttBar
from ui.widgets.plain import plain_label, set_plain


class DispatcherView(QWidget):
    """Renders ConsoleSnapshots; sends select_channel and ptt("console", …) to ``position``."""

    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dispatcherView")
        self._position = position
        self.snapshot = ConsoleSnapshot()

        self.title_label: QLabel = plain_label("CHANNELS", object_name="viewTitle")
        self.summary_label: QLabel = plain_label(object_name="viewSummary")
        self.help_label: QLabel = plain_label(
            "Click selects · Ctrl+click adds to multi-select", object_name="viewHint"
        )
        title_row = QHBoxLayout()
        title_row.addWidget(self.title_label)
        title_row.addSpacing(16)
        title_row.addWidget(self.summary_label)
        title_row.addStretch(1)
        title_row.addWidget(self.help_label)

        self.grid = ChannelGrid()
        self.grid.tile_clicked.connect(self._on_tile_clicked)
        scroll = QScrollArea(self)
        scroll.setObjectName("channelScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.grid)

        self.ptt_bar = PttBar(self)
        self.ptt_bar.held.connect(self._on_ptt_held)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(12)
        layout.addLayout(title_row)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.ptt_bar)

        position.console_changed.connect(self.render)
        first = getattr(position, "console", None)
        if first is not None:
            self.render(first)

    def render(self, snapshot: ConsoleSnapshot) -> None:
        self.snapshot = snapshot
        self.grid.render(snapshot.channels)
        self.ptt_bar.render(snapshot)
        channels = snapshot.channels
        busy = sum(1 for view in channels if view.receiving or view.transmitting)
        down = sum(1 for view in channels if view.link in ("down", "fault"))
        parts = [f"{len(channels)} channels", f"{sum(view.selected for view in channels)} selected"]
        if busy:
            parts.append(f"{busy} active")
        if down:
            parts.append(f"{down} link down")
        set_plain(self.summary_label, " · ".join(parts))

    def _on_tile_clicked(self, channel_id: str, toggle: bool) -> None:
        self._position.select_channel(channel_id, exclusive=not toggle)

    def _on_ptt_held(self, held: bool) -> None:
        self._position.ptt("console", held)
