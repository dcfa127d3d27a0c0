"""The Technician's SERIAL tab: one port's modem lines, RTS/DTR, a hex monitor and the loopback test.

Top: a port chooser (the profile's ports, then the inventory's; a URL can be typed) with OPEN/CLOSE.
Then lamps for CTS, DSR, CD and RI, and RTS/DTR toggles behind the PTT interlock: on a port a
configured radio keys on, a toggle asks the technician first, and is refused while the console has
that radio keyed. Below: the hex+ASCII monitor with STX/ETX marked and CAPTURE (raw bytes to a file
``dispatch-console ali parse`` reads), and LOOPBACK TEST with progress, CANCEL and the result.

The work is done by ``app.bench.serial_monitor.PortSession`` and ``app.bench.serial_checks`` on their
own threads; their callbacks only emit this panel's signals, which Qt queues to the GUI thread.
Text from the port is plain text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.bench.serial_checks import (
    InterlockDecision,
    LineRecord,
    PortOpenError,
    configured_settings,
    idle_levels,
    interlock,
    keyed_radios,
    loopback_test,
    port_choices,
    ptt_uses,
)
from app.bench.serial_monitor import HexDump, PortSession
from hardware.serial.modem_lines import LINE_NAMES
from hardware.serial.ports import LineSettings
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.style import set_style_state

BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
MONITOR_ROWS = 2000  # the hex view keeps this many rows
FLUSH_MS = 150  # a part row is shown after this long without data

Confirm = Callable[[str, str], bool]  # (title, question) -> the technician said yes
ChooseFile = Callable[[], str]  # -> a path, "" when cancelled


class _Bridge(QObject):
    """Thread callbacks in, GUI-thread signals out (emitting from another thread queues the call)."""

    opened = Signal(int, bool, str)  # session number, ok, how lines are watched or why it failed
    data = Signal(bytes)
    lines = Signal(object)  # LineRecord
    outputs = Signal(bool, bool)
    closed = Signal(int, str)  # session number, why it ended ("" when closed)
    progress = Signal(float, str)
    finished = Signal(object)  # LoopbackResult, or str: why it could not run


class SerialPanel(QWidget):
    def __init__(self, position: Any, parent: QWidget | None = None, *,
                 ports: Callable[[], list[tuple[str, str]]] | None = None,
                 confirm: Confirm | None = None, choose_capture_file: ChooseFile | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("serialPanel")
        self.position = position
        self.profile = getattr(position, "profile", None)
        self._ports = ports or (lambda: port_choices(self.profile))
        self._confirm = confirm or self._ask
        self._choose_file = choose_capture_file or self._ask_file
        self.session: PortSession | None = None
        self.session_url = ""
        self._session_no = 0  # which session a queued open/close report is about
        self._confirmed_url = ""  # the port whose PTT warning the technician accepted (until it closes)
        self._test_thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.dump = HexDump()
        self.bridge = _Bridge()  # no parent: a port thread that outlives the panel still has a live sender

        self.port = QComboBox(self)
        self.port.setObjectName("serialPort")
        self.port.setEditable(True)
        self.port.setMinimumWidth(280)
        self.port.lineEdit().setPlaceholderText("device, COM3 or rfc2217://host:port")
        self.refresh_button = QPushButton("REFRESH", self)
        self.baud = QComboBox(self)
        for rate in BAUDRATES:
            self.baud.addItem(str(rate), rate)
        self.baud.setCurrentText("9600")
        self.open_button = QPushButton("OPEN", self)
        self.open_button.setObjectName("serialOpen")
        self.state = plain_label("closed", object_name="serialState")

        self.lamps = {name: plain_label(f"○ {name.upper()}", object_name="serialLamp") for name in LINE_NAMES}
        self.toggles = {name: QPushButton(name.upper(), self) for name in ("rts", "dtr")}
        for name, button in self.toggles.items():
            button.setCheckable(True)
            button.setObjectName("serialToggle")
            button.clicked.connect(lambda checked, line=name: self.toggle(line, checked))
        self.interlock_note = plain_label("", object_name="serialInterlock")
        self.interlock_note.setWordWrap(True)

        self.monitor = QPlainTextEdit(self)
        self.monitor.setObjectName("serialMonitor")
        self.monitor.setReadOnly(True)
        self.monitor.setMaximumBlockCount(MONITOR_ROWS)
        self.monitor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.monitor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.capture_button = QPushButton("CAPTURE", self)
        self.capture_button.setCheckable(True)
        self.capture_label = plain_label("", object_name="serialCapture")
        self.clear_button = QPushButton("CLEAR", self)

        self.loopback_button = QPushButton("LOOPBACK TEST", self)
        self.cancel_button = QPushButton("CANCEL", self)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.result = QPlainTextEdit(self)
        self.result.setObjectName("loopbackResult")
        self.result.setReadOnly(True)
        self.result.setMaximumHeight(130)
        self._layout()

        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._flush_row)

        self.refresh_button.clicked.connect(self.refresh_ports)
        self.open_button.clicked.connect(self._open_or_close)
        self.capture_button.clicked.connect(self._capture_clicked)
        self.clear_button.clicked.connect(self.monitor.clear)
        self.loopback_button.clicked.connect(self.start_loopback)
        self.cancel_button.clicked.connect(self.cancel_loopback)
        self.bridge.opened.connect(self._opened)
        self.bridge.data.connect(self._data)
        self.bridge.lines.connect(self._lines)
        self.bridge.outputs.connect(self._outputs)
        self.bridge.closed.connect(self._closed)
        self.bridge.progress.connect(self._progress)
        self.bridge.finished.connect(self._finished)
        self.refresh_ports()
        self._show_closed()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)  # child widgets get no closeEvent when the window closes

    def _layout(self) -> None:
        top = QHBoxLayout()
        for widget in (plain_label("PORT"), self.port, self.refresh_button, plain_label("BAUD"), self.baud,
                       self.open_button):
            top.addWidget(widget)
        top.addWidget(self.state, 1)
        lines = QHBoxLayout()
        for lamp in self.lamps.values():
            lines.addWidget(lamp)
        lines.addSpacing(24)
        for button in self.toggles.values():
            lines.addWidget(button)
        lines.addWidget(self.interlock_note, 1)
        capture = QHBoxLayout()
        capture.addWidget(plain_label("MONITOR", object_name="panelTitle"))
        capture.addStretch(1)
        capture.addWidget(self.capture_label)
        capture.addWidget(self.capture_button)
        capture.addWidget(self.clear_button)
        test = QHBoxLayout()
        test.addWidget(self.loopback_button)
        test.addWidget(self.progress, 1)
        test.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(lines)
        layout.addLayout(capture)
        layout.addWidget(self.monitor, 1)
        layout.addLayout(test)
        layout.addWidget(self.result)

    # -- choosing the port ----------------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        typed = self.port.currentText()
        self.port.clear()
        for url, what in self._ports():
            self.port.addItem(f"{url} — {what}" if what and what != url else url, url)
        if typed:
            self.port.setEditText(typed)

    def url(self) -> str:
        """The chosen port: an entry's URL, or what was typed."""
        text = self.port.currentText().strip()
        index = self.port.findText(text)
        if index >= 0:
            return str(self.port.itemData(index))
        return text

    def settings(self, url: str) -> LineSettings:
        configured = configured_settings(self.profile, url) if self.profile is not None else None
        base = configured or LineSettings()
        return LineSettings(int(self.baud.currentData() or 9600), base.bytesize, base.parity, base.stopbits)

    def _uses(self, url: str) -> list:
        return ptt_uses(self.profile, url) if self.profile is not None else []

    # -- the live port ---------------------------------------------------------------------------------------
    def _open_or_close(self) -> None:
        if self.session is not None:
            self.close_port()
        else:
            self.open_port()

    def open_port(self) -> None:
        url = self.url()
        if not url:
            set_plain(self.state, "choose or type a port first")
            return
        if self._test_thread is not None:
            set_plain(self.state, "the loopback test is using a port; wait for it or cancel it")
            return
        self.close_port()
        self.dump = HexDump()
        b = self.bridge
        self._session_no += 1
        number = self._session_no
        self.session = PortSession(url, self.settings(url), idle=idle_levels(self._uses(url)),
                                   on_open=lambda ok, how: b.opened.emit(number, ok, how),
                                   on_data=lambda data, t: b.data.emit(data),
                                   on_lines=b.lines.emit, on_outputs=b.outputs.emit,
                                   on_closed=lambda reason: b.closed.emit(number, reason))
        self.session_url = url
        set_plain(self.state, f"opening {url}…")
        self.open_button.setText("CLOSE")
        self.session.start()

    def close_port(self) -> None:
        """Close the session (RTS/DTR back to unkeyed, port released) and wait for it."""
        session, self.session = self.session, None
        if session is not None:
            session.close()
            self._flush_row()
        self._confirmed_url = ""
        self._show_closed()

    def _show_closed(self) -> None:
        self.open_button.setText("OPEN")
        for name, lamp in self.lamps.items():
            set_plain(lamp, f"○ {name.upper()}")
            set_style_state(lamp, "lamp", "unknown")
        for button in self.toggles.values():
            button.setChecked(False)
            button.setEnabled(False)
        self.capture_button.setChecked(False)
        self.capture_button.setEnabled(False)

    def _opened(self, number: int, ok: bool, how: str) -> None:
        if number != self._session_no or self.session is None:
            return  # a session closed since
        if not ok:
            set_plain(self.state, how)
            self.session = None
            self._show_closed()
            return
        set_plain(self.state, f"{self.session_url} open · {how}")
        self.capture_button.setEnabled(True)
        session = self.session
        for button in self.toggles.values():
            button.setEnabled(session is not None and session.has_lines)
        uses = self._uses(self.session_url)
        if uses:
            names = ", ".join(f"{u.radio_name} (PTT {u.line.upper()})" for u in uses)
            set_plain(self.interlock_note, f"PTT port of {names}: toggles ask first")
        else:
            set_plain(self.interlock_note, "")

    def _data(self, data: bytes) -> None:
        for row in self.dump.feed(data):
            self.monitor.appendPlainText(row)
        self._flush.start()
        session = self.session
        if session is not None and session.capturing:
            set_plain(self.capture_label, f"capturing: {session.captured} bytes")

    def _flush_row(self) -> None:
        for row in self.dump.flush():
            self.monitor.appendPlainText(row)

    def _lines(self, record: LineRecord) -> None:
        levels = ({name: record.state.get(name) for name in LINE_NAMES} if record.state is not None
                  else {record.line: record.active})
        for name, active in levels.items():
            set_plain(self.lamps[name], f"{'●' if active else '○'} {name.upper()}")
            set_style_state(self.lamps[name], "lamp", "on" if active else "off")

    def lamp_on(self, line: str) -> bool:
        return self.lamps[line].property("lamp") == "on"

    def _outputs(self, rts: bool, dtr: bool) -> None:
        self.toggles["rts"].setChecked(rts)
        self.toggles["dtr"].setChecked(dtr)

    def _closed(self, number: int, reason: str) -> None:
        if reason and number == self._session_no:
            set_plain(self.state, reason)
            if self.session is not None:
                self.session = None
                self._show_closed()

    # -- RTS/DTR behind the PTT interlock ------------------------------------------------------------------
    def toggle(self, line: str, level: bool) -> bool:
        """Set ``line`` of the open port if the interlock allows; returns whether it was sent."""
        button = self.toggles[line]
        session = self.session
        decision = self._interlock(self.session_url, f"set {line.upper()} {'on' if level else 'off'}")
        if session is None or not decision.allowed:
            button.setChecked(not level)  # the line did not change
            if decision.reason:
                set_plain(self.interlock_note, decision.reason)
            return False
        session.set_output(line, level)
        return True

    def _interlock(self, url: str, action: str) -> InterlockDecision:
        uses = self._uses(url)
        keyed = keyed_radios(getattr(self.position, "console", None))
        decision = interlock(uses, keyed, confirmed=self._confirmed_url == url)
        if decision.allowed or not decision.needs_confirmation:
            return decision
        if not self._confirm("PTT line", f"{decision.reason}.\n\n{action} on {url} anyway?"):
            return InterlockDecision(False, True, "not confirmed: the lines were left as they were")
        decision = interlock(uses, keyed_radios(getattr(self.position, "console", None)), confirmed=True)
        if decision.allowed:
            self._confirmed_url = url
        return decision

    # -- capture ------------------------------------------------------------------------------------------------
    def _capture_clicked(self, checked: bool) -> None:
        if checked:
            self.start_capture(self._choose_file())
        else:
            self.stop_capture()

    def start_capture(self, path: str) -> bool:
        session = self.session
        if session is None or not path:
            self.capture_button.setChecked(False)
            return False
        try:
            session.start_capture(path)
        except OSError as err:
            self.capture_button.setChecked(False)
            set_plain(self.capture_label, f"cannot write {path}: {err.strerror or err}")
            return False
        self.capture_button.setChecked(True)
        set_plain(self.capture_label, f"capturing to {path}")
        return True

    def stop_capture(self) -> None:
        session = self.session
        written = session.stop_capture() if session is not None else 0
        self.capture_button.setChecked(False)
        set_plain(self.capture_label, f"captured {written} bytes")

    # -- loopback test --------------------------------------------------------------------------------------
    def start_loopback(self) -> bool:
        url = self.url()
        if not url or self._test_thread is not None:
            return False
        uses = self._uses(url)
        if uses:
            decision = self._interlock(url, "run the loopback test (it raises RTS and DTR)")
            if not decision.allowed:
                self._show_result(decision.reason)
                return False
        if self.session is not None:
            self.close_port()  # the test needs the port to itself
        settings = self.settings(url)
        self._cancel = threading.Event()
        self.progress.setValue(0)
        self.result.setPlainText(f"testing {url} at {settings.baudrate} baud…")
        self.loopback_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        bridge, cancel, idle = self.bridge, self._cancel, idle_levels(uses)

        def run() -> None:
            try:
                outcome: object = loopback_test(url, settings, progress=bridge.progress.emit, cancel=cancel, idle=idle)
            except PortOpenError as err:
                outcome = str(err)
            except Exception as err:  # noqa: BLE001 - shown to the technician, never a crash
                outcome = f"{url}: {err}"
            bridge.finished.emit(outcome)

        self._test_thread = threading.Thread(target=run, name=f"loopback:{url}", daemon=True)
        self._test_thread.start()
        return True

    def cancel_loopback(self) -> None:
        self._cancel.set()
        self.cancel_button.setEnabled(False)

    @property
    def testing(self) -> bool:
        return self._test_thread is not None

    def _progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(int(round(fraction * 100)))
        self.progress.setFormat(f"%p% · {text}")

    def _finished(self, outcome: object) -> None:
        thread, self._test_thread = self._test_thread, None
        if thread is not None:
            thread.join(1)
        self.loopback_button.setEnabled(True)
        self.open_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if isinstance(outcome, str):
            self._show_result(outcome)
            return
        from ui.diag_serial import loopback_table

        self.last_result = outcome
        self._show_result("\n".join(loopback_table(outcome)))

    def _show_result(self, text: str) -> None:
        self.result.setPlainText(text)

    # -- leaving ------------------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Release everything: the open port, and a running test (cancelled, then waited for)."""
        self.close_port()
        thread = self._test_thread
        if thread is not None:
            self._cancel.set()
            thread.join(5)
            self._test_thread = None

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.shutdown()
        super().closeEvent(event)

    # -- the real dialogs (tests pass their own answers) ---------------------------------------------------
    def _ask(self, title: str, question: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, "", QMessageBox.StandardButton.Yes
                          | QMessageBox.StandardButton.No, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # radio names and URLs come from the profile
        box.setText(question)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        return box.exec() == QMessageBox.StandardButton.Yes

    def _ask_file(self) -> str:
        path, _ = QFileDialog.getSaveFileName(self, "Capture raw bytes to", "capture.bin",
                                              "Raw capture (*.bin *.raw);;All files (*)")
        return path
