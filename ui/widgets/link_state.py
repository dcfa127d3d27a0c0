"""How a device's link state reads: a word and a shape, so colour is never the only cue."""

from __future__ import annotations

# LinkState values (hardware.events.LinkState) -> (glyph, word). Shapes differ as well as colours:
# a filled circle is good, a triangle needs attention, a cross is broken, a hollow circle is unknown.
_LINK_LOOK = {
    "up": ("●", "UP"),
    "down": ("▲", "DOWN"),
    "fault": ("✖", "FAULT"),
    "unknown": ("○", "UNKNOWN"),
}


def link_glyph(state: str) -> str:
    return _LINK_LOOK.get(state, _LINK_LOOK["unknown"])[0]


def link_word(state: str) -> str:
    glyph_word = _LINK_LOOK.get(state)
    return glyph_word[1] if glyph_word else state.upper() or "UNKNOWN"


def link_style(state: str) -> str:
    """The value of the ``link`` style property the QSS colours by."""
    return state if state in _LINK_LOOK else "unknown"
