"""Channel tiles in a grid that reflows to the window width, reusing tiles across snapshots.

One timer for the whole grid ticks the tiles that move on their own (time-out countdowns, a
flashing emergency), and runs only while one does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

from app.snapshots import AudioSnapshot, ChannelView, ConsoleSnapshot
from ui.dispatcher.channel_tile import ChannelTile
from ui.widgets.meter_poll import MeterPoll


class ChannelGrid(QWidget):
    tile_clicked = Signal(str, bool)  # channel id, toggle
    recall_requested = Signal(str)  # channel id
    mute_requested = Signal(str, bool)  # channel id, muted
    monitor_requested = Signal(str, bool)  # channel id, on
    instant_requested = Signal(str, bool)  # channel id, pressed
    ack_requested = Signal(str)  # channel id
    signal_requested = Signal(str, str, object)  # channel id, signaling kind, encoder params
    tune_requested = Signal(str, str)  # channel id, radio channel name

    TICK_MS = 250  # countdown to the second, emergency flash at 2 Hz

    MIN_TILE_WIDTH = 340  # narrower and a long channel name has to shrink below arm's-length size
    MAX_COLUMNS = 6

    def __init__(self, parent: QWidget | None = None, *, meters: MeterPoll | None = None,
                 rx_columns: Mapping[str, int] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("channelGrid")
        self._meters = meters
        self._rx_columns = dict(rx_columns or {})  # radio id -> engine input column (receive meter)
        self._audio = AudioSnapshot()
        self._layout = QGridLayout()
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(12)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._layout)
        outer.addStretch(1)  # rows packed at the top, not spread over the height
        self._tiles: dict[str, ChannelTile] = {}
        self._order: list[str] = []
        self._columns = 0
        self._patch_ids: tuple[str, ...] = ()
        self._ticker = QTimer(self)
        self._ticker.setInterval(self.TICK_MS)
        self._ticker.timeout.connect(self._tick)

    def tile(self, channel_id: str) -> ChannelTile | None:
        return self._tiles.get(channel_id)

    def tiles(self) -> list[ChannelTile]:
        return [self._tiles[cid] for cid in self._order]

    def render(self, channels: tuple[ChannelView, ...] | ConsoleSnapshot) -> None:
        if isinstance(channels, ConsoleSnapshot):
            self._patch_ids = channels.patch_ids
            channels = channels.channels
        order = [view.id for view in channels]
        for gone in set(self._tiles) - set(order):
            tile = self._tiles.pop(gone)
            tile.release_instant()
            if self._meters is not None:
                self._meters.remove(tile.rx_meter)
            self._layout.removeWidget(tile)
            tile.deleteLater()
        for view in channels:
            tile = self._tiles.get(view.id)
            if tile is None:
                tile = ChannelTile(view, self)
                tile.render(view, self._patch_ids)
                tile.clicked.connect(self.tile_clicked)
                tile.recall_clicked.connect(self.recall_requested)
                tile.mute_clicked.connect(self.mute_requested)
                tile.monitor_clicked.connect(self.monitor_requested)
                tile.instant_held.connect(self.instant_requested)
                tile.ack_clicked.connect(self.ack_requested)
                tile.signal_requested.connect(self.signal_requested)
                tile.tune_requested.connect(self.tune_requested)
                self._attach_audio(tile)
                self._tiles[view.id] = tile
            else:
                tile.render(view, self._patch_ids)
        if order != self._order:
            self._order = order
            self._place(force=True)
        if any(tile.needs_ticks() for tile in self._tiles.values()):
            if not self._ticker.isActive():
                self._ticker.start()

    def _tick(self) -> None:
        now = time.monotonic()
        flash_on = int(now * 1000 / 500) % 2 == 0
        moving = False
        for tile in self._tiles.values():
            tile.tick(now, flash_on)
            moving = moving or tile.needs_ticks()
        if not moving:
            self._ticker.stop()

    def render_audio(self, snap: AudioSnapshot) -> None:
        """RECALL on each tile: which one is playing, or why recall is off."""
        self._audio = snap
        for tile in self._tiles.values():
            self._show_recall(tile)

    def _attach_audio(self, tile: ChannelTile) -> None:
        column = self._rx_columns.get(tile.channel_id)
        if self._meters is not None and column is not None:
            self._meters.add(tile.rx_meter, "in", column)
        tile.show_rx_meter(column is not None)
        self._show_recall(tile)

    def _show_recall(self, tile: ChannelTile) -> None:
        if tile.channel_id not in self._rx_columns:
            problem = "this radio has no receive audio input (rx_input)"
        else:
            problem = self._audio.recall
        tile.show_audio(self._audio.replaying == tile.channel_id, problem)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()

    def _place(self, *, force: bool = False) -> None:
        count = max(1, len(self._order))
        columns = max(1, min(self.MAX_COLUMNS, count, self.width() // self.MIN_TILE_WIDTH))
        if columns == self._columns and not force:
            return
        self._columns = columns
        for tile in self._tiles.values():
            self._layout.removeWidget(tile)
        for index, cid in enumerate(self._order):
            row, column = divmod(index, columns)
            self._layout.addWidget(self._tiles[cid], row, column)
        for column in range(self.MAX_COLUMNS):
            self._layout.setColumnStretch(column, 1 if column < columns else 0)
