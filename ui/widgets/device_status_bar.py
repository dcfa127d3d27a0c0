"""One compact lamp per configured device, for the window's status bar."""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QWidget

from app.snapshots import DeviceStatus, StatusSnapshot
from ui.widgets.flow_layout import FlowLayout
from ui.widgets.link_state import link_glyph, link_style, link_word
from ui.widgets.plain import plain_label, plain_tooltip, set_plain
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text


def lamp_text(device: DeviceStatus) -> str:
    """"● Fire Main" when up; anything else also spells out the state: "▲ ALI DOWN"."""
    name = device.label or device.id
    glyph = link_glyph(device.state)
    if device.state == "up":
        return f"{glyph} {name}"
    return f"{glyph} {name} {link_word(device.state)}"


def lamp_tooltip(device: DeviceStatus) -> str:
    lines = [
        f"{device.label or device.id} ({device.kind})",
        f"Id: {device.id}",
        f"State: {link_word(device.state)}" + (f" since {clock_text(device.since_wall)}" if device.since_wall else ""),
    ]
    if device.detail:
        lines.append(device.detail)
    return plain_tooltip(*lines)


class DeviceStatusBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deviceStatusBar")
        self.summary: QLabel = plain_label(object_name="deviceSummary")
        self._layout = FlowLayout(self, h_spacing=16, v_spacing=2)
        self._layout.setContentsMargins(8, 2, 8, 2)
        self._layout.addWidget(self.summary)
        self.lamps: dict[str, QLabel] = {}
        self._order: list[str] = []
        self.render(StatusSnapshot())

    def render(self, snapshot: StatusSnapshot) -> None:
        ids = [device.id for device in snapshot.devices]
        for gone in set(self.lamps) - set(ids):
            lamp = self.lamps.pop(gone)
            self._layout.removeWidget(lamp)
            lamp.deleteLater()
        for device in snapshot.devices:
            lamp = self.lamps.get(device.id)
            if lamp is None:
                lamp = plain_label(object_name="deviceLamp")
                self.lamps[device.id] = lamp
            set_plain(lamp, lamp_text(device))
            set_style_state(lamp, "link", link_style(device.state))
            lamp.setToolTip(lamp_tooltip(device))
        if ids != self._order:
            # Keep the configured order even when devices come and go.
            self._order = ids
            for lamp in self.lamps.values():
                self._layout.removeWidget(lamp)
            for position, device_id in enumerate(ids):
                self._layout.insertWidget(position + 1, self.lamps[device_id])
                # A widget added to an already visible parent stays hidden until shown.
                self.lamps[device_id].show()
            self._fit_height()
        up = sum(device.state == "up" for device in snapshot.devices)
        total = len(snapshot.devices)
        set_plain(self.summary, f"DEVICES {up}/{total} UP" if total else "NO DEVICES REPORTED")
        set_style_state(self.summary, "link", "up" if up == total and total else "down")

    def lamp_texts(self) -> list[str]:
        return [self.lamps[key].text() for key in self._order]

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        # The status bar does not ask for height-for-width, so the bar sets its own height to
        # however many rows of lamps the current width needs.
        needed = self._layout.heightForWidth(max(self.width(), 1))
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)
