"""The spill of the call in hand as a call-taker reads it: location first, then who is calling.

Location: street address (or coordinates with their uncertainty), the unit/location line, the
community, then ESN and the police/fire/EMS agencies. Then the number, the callback number, the
class of service with its meaning, and the subscriber name. Every value came from the phone system
and is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.calls.location import agencies_text, location_lines
from app.snapshots import SpillView
from ui.widgets.plain import plain_label, set_plain, visible_controls


def phone_text(digits: Any) -> str:
    """'(719) 555-0101' for 10 digits; anything else as it came."""
    text = str(digits or "")
    if len(text) == 10 and text.isdigit():
        return f"({text[:3]}) {text[3:6]}-{text[6:]}"
    return text


def service_text(record: Mapping[str, Any]) -> str:
    code = record.get("class_of_service") or ""
    meaning = record.get("service") or ""
    if code and meaning:
        return f"{code} · {meaning}"
    return str(code or meaning)


class LocationBlock(QFrame):
    CALLER_FIELDS = (("NUMBER", "ani"), ("CALLBACK", "callback"), ("SERVICE", "class_of_service"), ("NAME", "name"))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("locationBlock")
        self.title: QLabel = plain_label("LOCATION", object_name="blockTitle")
        # No word wrap: each line is one piece of the location, and a wrapped label can be squeezed
        # shorter than its text by the splitter above it. Lines this long are cut, never hidden.
        self.location_label: QLabel = plain_label(object_name="locationText")
        self.agencies_label: QLabel = plain_label(object_name="agenciesText")
        self.agencies_label.setWordWrap(True)
        self.values: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        grid.setVerticalSpacing(2)
        for column, (title, key) in enumerate(self.CALLER_FIELDS):
            grid.addWidget(plain_label(title, object_name="fieldTitle"), 0, column)
            value = plain_label(object_name="fieldValue")
            self.values[key] = value
            grid.addWidget(value, 1, column)
        grid.setColumnStretch(3, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.location_label)
        layout.addWidget(self.agencies_label)
        layout.addLayout(grid)
        # The location is never squeezed: the raw text and the lists below give up room first.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.render(None)

    def render(self, spill: SpillView | None) -> None:
        if spill is None:
            self.location_label.setText("—")
            set_plain(self.agencies_label, "")
            for label in self.values.values():
                set_plain(label, "")
            return
        record = spill.record
        if spill.kind != "ali":
            self.location_label.setText("Spill not read — see the raw text below")
            set_plain(self.agencies_label, "")
            for label in self.values.values():
                set_plain(label, "")
            return
        lines = location_lines(record)
        # Multi-line outside text: each line made visible-safe, joined with real line breaks.
        text = "\n".join(lines) if lines else "No address or coordinates"
        self.location_label.setText(visible_controls(text, keep_newlines=True))
        set_plain(self.agencies_label, agencies_text(record))
        set_plain(self.values["ani"], phone_text(record.get("ani") or record.get("pani")))
        set_plain(self.values["callback"], phone_text(record.get("callback")))
        set_plain(self.values["class_of_service"], service_text(record))
        set_plain(self.values["name"], str(record.get("name") or ""))
