"""Stand-ins for app.position.Position in GUI tests: the GUI reads snapshots and sends commands, and the
tests check what it shows and what it sent. The real Position is run by the demo and position tests.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.snapshots import CallsSnapshot, ConsoleSnapshot, PositionInfo, StatusSnapshot


class Recorder(QObject):
    """Position's duck type for the GUI: the four signals, the latest snapshots, and recorded commands."""

    console_changed = Signal(object)
    calls_changed = Signal(object)
    status_changed = Signal(object)
    event_logged = Signal(object)

    def __init__(self, info: PositionInfo | None = None) -> None:
        super().__init__()
        self.info = info or PositionInfo(name="POS 1", role="dispatcher", site="Test PSAP", demo=True,
                                         profile_path="/etc/pos1.toml", data_path="/var/lib/pos1")
        self.console = ConsoleSnapshot()
        self.calls = CallsSnapshot()
        self.status = StatusSnapshot()
        self.commands: list[tuple] = []

    def select_channel(self, channel_id: str, exclusive: bool = True) -> None:
        self.commands.append(("select_channel", channel_id, exclusive))

    def ptt(self, source: str, pressed: bool) -> None:
        self.commands.append(("ptt", source, pressed))

    def answer_call(self, call_id: int | None = None) -> None:
        self.commands.append(("answer_call", call_id))

    def release_call(self, hang_up: bool = False) -> None:
        self.commands.append(("release_call", hang_up))

    def manual_ring(self, line: str = "MANUAL") -> None:
        self.commands.append(("manual_ring", line))

    def request_rebid(self) -> None:
        self.commands.append(("request_rebid",))

    def confirm_location(self) -> None:
        self.commands.append(("confirm_location",))

    def record_transfer(self, name: str, number: str, method: str) -> None:
        self.commands.append(("record_transfer", name, number, method))

    def record_callback(self, call_uid: str, outcome: str, note: str = "") -> None:
        self.commands.append(("record_callback", call_uid, outcome, note))
