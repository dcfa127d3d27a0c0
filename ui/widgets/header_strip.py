"""The strip across the top: which position this is, the role tabs, ringing lines, the clock."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QTabBar, QVBoxLayout, QWidget

from ui.roles import ROLES
from ui.widgets.clock import ClockWidget
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.style import set_style_state


class HeaderStrip(QFrame):
    def __init__(self, name: str, site: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headerStrip")
        self.name_label: QLabel = plain_label(name, object_name="positionName")
        self.site_label: QLabel = plain_label(site, object_name="positionSite")
        self.site_label.setVisible(bool(site))
        who = QVBoxLayout()
        who.setSpacing(0)
        who.addWidget(self.name_label)
        who.addWidget(self.site_label)

        self.tabs = QTabBar(self)
        self.tabs.setObjectName("roleTabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # roles switch by Ctrl+1/2/3 or a click
        for role in ROLES:
            index = self.tabs.addTab(f"{role.title}   {role.shortcut}")
            self.tabs.setTabToolTip(index, f"{role.title} view ({role.shortcut})")

        # Seen from every view, so a dispatcher looking at the radios still notices a 9-1-1 line.
        self.ringing_badge: QLabel = plain_label(object_name="ringingBadge")
        self.ringing_badge.setVisible(False)

        self.clock = ClockWidget(self)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 8, 16, 8)
        layout.setSpacing(24)
        layout.addLayout(who)
        layout.addWidget(self.tabs, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addStretch(1)
        layout.addWidget(self.ringing_badge)
        layout.addWidget(self.clock)

    def show_ringing(self, count: int) -> None:
        self.ringing_badge.setVisible(count > 0)
        set_plain(self.ringing_badge, f"☎ {count} RINGING   F5 answers" if count else "")
        set_style_state(self.ringing_badge, "state", "ringing" if count else "none")


class DemoBanner(QFrame):
    """Impossible to miss, so nobody takes the simulator for live radios."""

    TEXT = "DEMO — SIMULATED HARDWARE · not connected to live radios or 9-1-1 trunks"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoBanner")
        self.label: QLabel = plain_label(self.TEXT, object_name="demoText")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label)
