"""The console window: header, the three role views, and a status bar with every device's link."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from app.snapshots import AudioSnapshot, CallsSnapshot
from ui.calltaker.view import (
    ANSWER_KEY_NAME,
    CONFIRM_KEY_NAME,
    DIRECTORY_KEY_NAME,
    HANG_UP_KEY_NAME,
    REBID_KEY_NAME,
    RELEASE_KEY_NAME,
    CallTakerView,
)
from ui.dispatcher.keyboard_ptt import KEYBOARD_PTT_KEY_NAME, KeyboardPtt
from ui.dispatcher.view import DispatcherView
from ui.roles import ROLE_KEYS, ROLES, role_index, role_key
from ui.technician.view import TechnicianView
from ui.theme import THEMES, apply_theme, theme_name
from ui.widgets.audio_alarm import AudioAlarmBanner
from ui.widgets.device_status_bar import DeviceStatusBar
from ui.widgets.header_strip import DemoBanner, HeaderStrip
from ui.widgets.meter_poll import MeterPoll, levels_source
from ui.widgets.plain import one_line
from ui.widgets.restart_policy import RESTART_EXIT_CODE, RestartPolicy

GEOMETRY_KEY = "window/geometry"
ROLE_KEY = "window/role"
THEME_KEY = "ui/theme"
THEME_TOGGLE_SHORTCUT = "Ctrl+Shift+T"
STATS_KEY_NAME = "Ctrl+Shift+S"


def shortcuts_text() -> str:
    lines = [f"{role.shortcut:<14}{role.title} view" for role in ROLES]
    lines += [
        f"{KEYBOARD_PTT_KEY_NAME + ' (hold)':<14}Push to talk on the selected channels",
        f"{ANSWER_KEY_NAME:<14}Answer the oldest ringing call (from any view)",
        f"{CONFIRM_KEY_NAME:<14}Location confirmed with the caller (Call-taker view)",
        f"{REBID_KEY_NAME:<14}Rebid: ask for a fresh location (Call-taker view)",
        f"{RELEASE_KEY_NAME:<14}Release the active call (Call-taker view)",
        f"{HANG_UP_KEY_NAME:<14}Caller hung up: release and put on the callback list (Call-taker view)",
        f"{DIRECTORY_KEY_NAME:<14}Transfer directory: type to search, Enter dials (copies the number)",
        f"{STATS_KEY_NAME:<14}Answer-time statistics (NENA / NFPA), with CSV export",
        f"{THEME_TOGGLE_SHORTCUT:<14}Night / day theme",
        f"{'Ctrl+click':<14}Add or remove a channel from the multi-select",
    ]
    return "\n".join(lines)


class MainWindow(QMainWindow):
    def __init__(self, position: Any, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._position = position
        self._settings = settings
        info = position.info
        title = f"{one_line(info.name)} — Dispatch Console"
        self.setWindowTitle(f"{title} [DEMO]" if info.demo else title)
        self.setMinimumSize(760, 540)  # small laptops on the bench; positions run at 1080p and up

        self.header = HeaderStrip(info.name, info.site, self)
        self.demo_banner = DemoBanner(self) if info.demo else None
        self.audio_alarm = AudioAlarmBanner(self)
        self.restart_policy = RestartPolicy(self.audio_alarm, lambda: self.calltaker.snapshot.active is not None,
                                            self.request_restart, self)
        self.audio_alarm.restart_button.clicked.connect(lambda: self.request_restart("operator"))
        self.meters = MeterPoll(levels_source(position), self)  # one 30 Hz poll for every meter in the window
        self.dispatcher = DispatcherView(position, meters=self.meters)
        self.calltaker = CallTakerView(position)
        self.technician = TechnicianView(position, meters=self.meters)
        self.stack = QStackedWidget(self)
        for view in (self.dispatcher, self.calltaker, self.technician):
            self.stack.addWidget(view)

        central = QWidget(self)
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.header)
        column.addWidget(self.audio_alarm)  # above everything else: the radios cannot be heard
        if self.demo_banner is not None:
            column.addWidget(self.demo_banner)
        column.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.device_bar = DeviceStatusBar(self)
        self.statusBar().setObjectName("statusBar")
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().addWidget(self.device_bar, 1)

        self.keyboard_ptt = KeyboardPtt(self)
        self.keyboard_ptt.held.connect(lambda held: self._position.ptt("keyboard", held))

        self._build_actions()
        self.header.tabs.currentChanged.connect(self._on_tab_changed)

        position.status_changed.connect(self.device_bar.render)
        position.calls_changed.connect(self._on_calls)
        audio_changed = getattr(position, "audio_changed", None)
        if audio_changed is not None:
            audio_changed.connect(self._on_audio)
        self._on_audio(getattr(position, "audio", None) or AudioSnapshot())
        status = getattr(position, "status", None)
        if status is not None:
            self.device_bar.render(status)
        self._on_calls(self.calltaker.snapshot)

        self._restore(info.role)

    # -- roles -----------------------------------------------------------------------------------
    @property
    def role(self) -> str:
        return ROLE_KEYS[self.stack.currentIndex()]

    def show_role(self, key: str) -> None:
        self.header.tabs.setCurrentIndex(role_index(key))  # -> _on_tab_changed

    def _on_tab_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.role_actions[index].setChecked(True)
        self._settings.setValue(ROLE_KEY, ROLE_KEYS[index])  # now, so a crash still comes back here
        self._update_call_actions()

    # -- theme -----------------------------------------------------------------------------------
    @property
    def theme(self) -> str:
        return theme_name(self._settings.value(THEME_KEY))

    def set_theme(self, name: str) -> None:
        name = theme_name(name)
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, name)
        self._settings.setValue(THEME_KEY, name)
        self.theme_actions[name].setChecked(True)

    def toggle_theme(self) -> None:
        self.set_theme("day" if self.theme == "night" else "night")

    # -- calls -----------------------------------------------------------------------------------
    def answer_call(self) -> None:
        # F5 works from any view and brings the location into sight.
        self.show_role("calltaker")
        self.calltaker.answer(self.calltaker.ringing.chosen_call_id())

    def open_directory(self) -> None:
        self.show_role("calltaker")
        self.calltaker.open_directory()

    def _on_calls(self, snapshot: CallsSnapshot) -> None:
        self.header.show_ringing(len(snapshot.ringing))
        self._update_call_actions()

    def _on_audio(self, snapshot: AudioSnapshot) -> None:
        self.audio_alarm.render(snapshot)
        self.meters.set_device_lost(bool(snapshot.alarm))
        self.restart_policy.update(snapshot)

    def request_restart(self, reason: str) -> None:
        """Leave the event loop with RESTART_EXIT_CODE: ui.startup stops the position (unkeying every
        transmitter) and starts the console afresh in this process's place."""
        log_restart = getattr(self._position, "log_restart", None)
        if log_restart is not None:
            log_restart(reason)
        app = QApplication.instance()
        if app is not None:
            app.exit(RESTART_EXIT_CODE)

    def _update_call_actions(self) -> None:
        snapshot = self.calltaker.snapshot
        self.answer_action.setEnabled(bool(snapshot.ringing))
        # Release only where the call is in view: never hang up on a caller you cannot see.
        in_view = snapshot.active is not None and self.role == "calltaker"
        self.release_action.setEnabled(in_view)
        self.hang_up_action.setEnabled(in_view)
        self.confirm_action.setEnabled(in_view and bool(snapshot.active and snapshot.active.location_warning))
        self.rebid_action.setEnabled(in_view and snapshot.can_rebid)

    # -- menus and shortcuts ---------------------------------------------------------------------
    def _build_actions(self) -> None:
        view_menu = self.menuBar().addMenu("&View")
        role_group = QActionGroup(self)
        self.role_actions: list[QAction] = []
        for role in ROLES:
            action = QAction(f"{role.title} view", self, checkable=True)
            action.setShortcut(QKeySequence(role.shortcut))
            action.triggered.connect(lambda _checked=False, key=role.key: self.show_role(key))
            role_group.addAction(action)
            view_menu.addAction(action)
            self.role_actions.append(action)
        view_menu.addSeparator()
        theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(f"{name.capitalize()} theme", self, checkable=True)
            action.triggered.connect(lambda _checked=False, theme=name: self.set_theme(theme))
            theme_group.addAction(action)
            view_menu.addAction(action)
            self.theme_actions[name] = action
        self.theme_actions[self.theme].setChecked(True)
        toggle = QAction("Switch night/day theme", self)
        toggle.setShortcut(QKeySequence(THEME_TOGGLE_SHORTCUT))
        toggle.triggered.connect(self.toggle_theme)
        view_menu.addAction(toggle)

        call_menu = self.menuBar().addMenu("&Call")
        self.answer_action = QAction("Answer oldest ringing call", self)
        self.answer_action.setShortcut(QKeySequence(ANSWER_KEY_NAME))
        self.answer_action.triggered.connect(self.answer_call)
        self.release_action = QAction("Release active call", self)
        self.release_action.setShortcut(QKeySequence(RELEASE_KEY_NAME))
        self.release_action.triggered.connect(self.calltaker.release)
        self.confirm_action = QAction("Location confirmed with the caller", self)
        self.confirm_action.setShortcut(QKeySequence(CONFIRM_KEY_NAME))
        self.confirm_action.triggered.connect(self.calltaker.confirm_location)
        self.rebid_action = QAction("Rebid (fresh location)", self)
        self.rebid_action.setShortcut(QKeySequence(REBID_KEY_NAME))
        self.rebid_action.triggered.connect(self.calltaker.rebid)
        self.hang_up_action = QAction("Release as hang-up (call back)", self)
        self.hang_up_action.setShortcut(QKeySequence(HANG_UP_KEY_NAME))
        self.hang_up_action.triggered.connect(self.calltaker.release_as_hang_up)
        self.directory_action = QAction("Transfer directory", self)
        self.directory_action.setShortcut(QKeySequence(DIRECTORY_KEY_NAME))
        self.directory_action.triggered.connect(self.open_directory)
        self.stats_action = QAction("Answer-time statistics…", self)
        self.stats_action.setShortcut(QKeySequence(STATS_KEY_NAME))
        self.stats_action.triggered.connect(self.calltaker.open_stats)
        for action in (self.answer_action, self.confirm_action, self.rebid_action, self.release_action,
                       self.hang_up_action, self.directory_action):
            call_menu.addAction(action)
        call_menu.addSeparator()
        call_menu.addAction(self.stats_action)

        help_menu = self.menuBar().addMenu("&Help")
        keys = QAction("Keyboard shortcuts", self)
        keys.triggered.connect(self._show_shortcuts)
        help_menu.addAction(keys)

    def _show_shortcuts(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(shortcuts_text())
        box.setStyleSheet("QLabel { font-family: monospace; }")
        box.exec()

    # -- settings and shutdown -------------------------------------------------------------------
    def _restore(self, profile_role: str) -> None:
        geometry = self._settings.value(GEOMETRY_KEY)
        self.has_saved_geometry = isinstance(geometry, (QByteArray, bytes)) and self.restoreGeometry(QByteArray(geometry))
        if not self.has_saved_geometry:
            self.resize(1440, 900)  # and run_gui shows it maximized: a position owns its screen
        key = role_key(self._settings.value(ROLE_KEY)) or role_key(profile_role) or ROLE_KEYS[0]
        if role_index(key) == self.header.tabs.currentIndex():
            self._on_tab_changed(role_index(key))  # currentChanged does not fire for the same index
        else:
            self.show_role(key)

    def release_ptt(self) -> None:
        """Let go of every PTT this window holds."""
        self.keyboard_ptt.release()
        self.dispatcher.ptt_bar.release()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.release_ptt()
        self._settings.setValue(GEOMETRY_KEY, self.saveGeometry())
        self._settings.setValue(ROLE_KEY, self.role)
        self._settings.sync()
        super().closeEvent(event)
