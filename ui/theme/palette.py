"""Every colour the console uses, per theme, in one place.

The QSS files in ``assets/themes`` name these colours as ``${field}`` placeholders and the loader fills
them in from here, so a tile, a lamp and a table cell can never drift apart. Meaning stays the same in
both themes: green is receive, red is transmit, amber is "look at this" (a failed key, a bad BCC,
a ringing line), the accent blue marks what is selected, grey is a link that is not there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class ThemePalette:
    # surfaces, darkest to lightest in the night theme
    window: str  # behind everything
    surface: str  # panels, tiles at rest
    raised: str  # headers, buttons
    border: str
    text: str
    text_dim: str  # secondary labels, never for anything a dispatcher must read at a glance
    # meanings
    accent: str  # selected channel, focus, current tab
    accent_text: str  # text on an accent fill
    rx: str  # receiving
    rx_fill: str  # tile background while receiving
    tx: str  # transmitting
    tx_fill: str
    warn: str  # failed to key, key pending, BCC bad, ringing
    warn_fill: str
    alarm: str  # emergency / fault: stronger than warn
    down: str  # link down: greyed tile
    down_fill: str
    text_on_state: str  # text on an rx/tx/warn fill lamp
    demo: str  # demo banner: violet, a colour no console state uses, so it never reads as an alarm
    demo_text: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# Night: low glare for dim rooms. Not pure black (halation of white text on black tires eyes over a
# 12-hour shift); body text about 13:1 on the window colour, dim text still above 6:1.
NIGHT = ThemePalette(
    window="#161b21",
    surface="#1e252d",
    raised="#28313b",
    border="#3a4654",
    text="#e8edf2",
    text_dim="#a3b0bd",
    accent="#4da3ff",
    accent_text="#08111c",
    rx="#3ccf6e",
    rx_fill="#143522",
    tx="#ff5a52",
    tx_fill="#4a1716",
    warn="#ffb224",
    warn_fill="#3d2d0c",
    alarm="#ff7a45",
    down="#7f8a96",
    down_fill="#1a1f24",
    text_on_state="#0b0f13",
    demo="#b794f6",
    demo_text="#0b0f13",
)

# Day: light room, same meanings, darker state colours so they hold contrast on white.
DAY = ThemePalette(
    window="#e9edf1",
    surface="#ffffff",
    raised="#f4f6f8",
    border="#aab4bf",
    text="#0f1720",
    text_dim="#4a5663",
    accent="#0b63ce",
    accent_text="#ffffff",
    rx="#17803d",
    rx_fill="#dcf3e3",
    tx="#c62a22",
    tx_fill="#fbe0de",
    warn="#a85f00",
    warn_fill="#fff0d1",
    alarm="#c2410c",
    down="#5d6875",
    down_fill="#e3e7eb",
    text_on_state="#ffffff",
    demo="#6d28d9",
    demo_text="#ffffff",
)

PALETTES: dict[str, ThemePalette] = {"night": NIGHT, "day": DAY}
DEFAULT_THEME = "night"


def palette_for(theme: str) -> ThemePalette:
    return PALETTES.get(theme, PALETTES[DEFAULT_THEME])


# ALI inspector (Technician view): a tint behind each field of a spill, cycled field by field. The spill
# text keeps its own colour on top, so the night tints are dark and the day tints pale (text stays above
# 7:1 on every one). None is near warn amber or tx red: those mark a field that failed.
FIELD_TINTS: dict[str, tuple[str, ...]] = {
    "night": ("#1f4a73", "#1f4d2e", "#55386b", "#184c4c", "#6b2f4f", "#34457a", "#3c4a17", "#264a63",
              "#603a5e", "#314d3f"),
    "day": ("#cfe2f7", "#d3f0da", "#e6d6f3", "#cdeeed", "#f5d5e6", "#d9dcf7", "#e6efc6", "#d2e4ee",
            "#efd9ee", "#d8eadf"),
}


def field_tints(theme: str) -> tuple[str, ...]:
    return FIELD_TINTS.get(theme, FIELD_TINTS[DEFAULT_THEME])
