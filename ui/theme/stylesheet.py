"""Loads a theme's QSS from ``assets/themes`` and fills in its colours from the palette."""

from __future__ import annotations

from importlib.resources import files
from string import Template

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from ui.theme.palette import DEFAULT_THEME, PALETTES, ThemePalette, palette_for

THEMES: tuple[str, ...] = tuple(PALETTES)

_applied = DEFAULT_THEME  # the theme last applied to the application, for colours drawn in code


def current_theme() -> str:
    return _applied


def current_palette() -> ThemePalette:
    """Colours for things painted by models and delegates rather than by QSS."""
    return palette_for(_applied)


def theme_name(requested: object) -> str:
    """A known theme name for whatever settings held (None, junk, an old name)."""
    return requested if isinstance(requested, str) and requested in PALETTES else DEFAULT_THEME


def load_stylesheet(theme: str) -> str:
    """The shared ``console.qss`` followed by ``<theme>.qss``, ``${colour}`` placeholders filled.

    A placeholder the palette does not have raises KeyError, so a typo fails in the tests, not on a shift.
    """
    name = theme_name(theme)
    themes = files("assets") / "themes"
    template = "\n".join(
        (themes / file).read_text(encoding="utf-8") for file in ("console.qss", f"{name}.qss")
    )
    return Template(template).substitute(palette_for(name).as_dict())


def qt_palette(colours: ThemePalette) -> QPalette:
    """A QPalette to match, for the parts Qt draws without consulting QSS (tooltips, text cursors)."""
    palette = QPalette()
    role = QPalette.ColorRole
    pairs = {
        role.Window: colours.window,
        role.WindowText: colours.text,
        role.Base: colours.surface,
        role.AlternateBase: colours.raised,
        role.Text: colours.text,
        role.Button: colours.raised,
        role.ButtonText: colours.text,
        role.ToolTipBase: colours.raised,
        role.ToolTipText: colours.text,
        role.Highlight: colours.accent,
        role.HighlightedText: colours.accent_text,
        role.PlaceholderText: colours.text_dim,
        role.BrightText: colours.tx,
    }
    for colour_role, value in pairs.items():
        palette.setColor(colour_role, QColor(value))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(colours.down))
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(colours.down))
    palette.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(colours.down))
    return palette


def apply_theme(app: QApplication, theme: object) -> str:
    """Style the whole application; returns the theme actually applied."""
    global _applied
    name = theme_name(theme)
    _applied = name
    # Fusion draws every control from the palette and QSS alike on every platform, so the
    # console looks the same on a Windows dispatch PC and a Linux bench.
    app.setStyle("Fusion")
    app.setPalette(qt_palette(palette_for(name)))
    app.setStyleSheet(load_stylesheet(name))
    return name
