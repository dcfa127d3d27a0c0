"""Plain-text helpers: text from outside (ALI, device and channel names, config) is never rich text.

A QLabel guesses rich text from a leading tag unless told otherwise, so a channel named
``<b>X</b><img src=x>`` would render bold and fetch an image. Every label that shows outside text is
made here, with the format pinned to PlainText. Control bytes are also made visible as ``<0xNN>``
tokens (the same tokens the ALI samples use), so an ANSI escape shows as text instead of an
invisible box, and a newline cannot break a one-line label.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QWidget

# Names the ALI framing uses for the control bytes a spill carries; the rest become <0xNN>.
_NAMED_CONTROLS = {0x02: "<STX>", 0x03: "<ETX>", 0x06: "<ACK>", 0x0D: "<CR>", 0x0A: "<LF>", 0x7F: "<DEL>"}


def _token(code: int) -> str:
    return _NAMED_CONTROLS.get(code, f"<0x{code:02X}>")


def visible_controls(text: str, *, keep_newlines: bool = False) -> str:
    """Replace C0 control characters and DEL by visible tokens; tabs stay, newlines stay if asked."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\t" or (keep_newlines and ch == "\n"):
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(_token(code))
        else:
            out.append(ch)
    return "".join(out)


def one_line(text: str) -> str:
    """Outside text made safe for a one-line label."""
    return visible_controls(text)


def plain_label(text: str = "", parent: QWidget | None = None, *, object_name: str = "") -> QLabel:
    """A QLabel that always shows its text literally."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    if object_name:
        label.setObjectName(object_name)
    label.setText(one_line(text))
    return label


def set_plain(label: QLabel, text: str) -> None:
    """Update a label with outside text; skips the relayout when nothing changed."""
    shown = one_line(text)
    if label.text() != shown:
        label.setText(shown)


def make_read_only(view: QPlainTextEdit, *, object_name: str = "") -> QPlainTextEdit:
    """Nothing editable; the user can still select and copy (the location goes into CAD)."""
    view.setReadOnly(True)
    view.setUndoRedoEnabled(False)
    view.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    if object_name:
        view.setObjectName(object_name)
    return view


def plain_text_view(parent: QWidget | None = None, *, object_name: str = "") -> QPlainTextEdit:
    """A read-only text area for multi-line outside text (ALI spills, error lists)."""
    return make_read_only(QPlainTextEdit(parent), object_name=object_name)


def set_plain_text(view: QPlainTextEdit, text: str) -> None:
    """Show multi-line outside text literally; leaves the scroll position alone when unchanged."""
    shown = visible_controls(text, keep_newlines=True)
    if view.toPlainText() != shown:
        view.setPlainText(shown)


def plain_tooltip(*lines: str) -> str:
    """Tooltip text that shows outside text literally.

    Qt has no plain-text switch for tooltips and guesses rich text from any tag on the first line,
    so the only safe tooltip is one we write as HTML ourselves, with every outside character escaped.
    """
    split = (part for line in lines for part in line.split("\n"))
    body = "<br/>".join(html.escape(one_line(part), quote=False) for part in split)
    return f"<p style='white-space:pre'>{body}</p>"
