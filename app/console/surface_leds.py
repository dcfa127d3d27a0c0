"""A control surface's LEDs follow the console: each bound control shows selected, receive or transmit.

The LED of a control whose action names a radio (select:fire, itx:fire, monitor:fire) shows that radio;
one without a radio (ptt, talk-back, monitor) shows whether any channel is in that state. Only changes
are sent (``driver.set_led`` is posted to the driver's own thread).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.config.schema import action_radio
from app.snapshots import ChannelView, ConsoleSnapshot


def _shows(view: ChannelView, led: str) -> bool:
    if led == "selected":
        return view.selected
    if led == "receive":
        return view.receiving
    if led == "transmit":
        return view.transmitting
    return False


class SurfaceLeds:
    def __init__(self, bindings: Iterable[Any], drivers: Mapping[str, Any]) -> None:
        self._bindings = [b for b in bindings if b.led != "none" and b.device in drivers]
        self._drivers = drivers
        self._lit: dict[tuple[str, str], bool] = {}

    def on_console(self, snapshot: ConsoleSnapshot) -> None:
        channels = {view.id: view for view in snapshot.channels}
        for b in self._bindings:
            radio = action_radio(b.action)
            if radio:
                view = channels.get(radio)
                on = view is not None and _shows(view, b.led)
            else:
                on = any(_shows(view, b.led) for view in snapshot.channels)
            key = (b.device, b.control)
            if self._lit.get(key) != on:
                self._lit[key] = on
                self._drivers[b.device].set_led(b.control, on)
