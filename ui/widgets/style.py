"""Dynamic-property styling: widgets say what state they are in, the QSS says what that looks like."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def set_style_state(widget: QWidget, name: str, value: object) -> None:
    """Set a property the stylesheet selects on (``[state="rx"]``) and restyle only when it changed.

    Qt does not re-evaluate property selectors by itself, hence the unpolish/polish.
    """
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()
