"""Night and day themes: colours in palette.py, shapes in assets/themes/*.qss."""

from ui.theme.palette import DEFAULT_THEME, ThemePalette, palette_for
from ui.theme.stylesheet import THEMES, apply_theme, current_palette, current_theme, load_stylesheet, theme_name

__all__ = ["DEFAULT_THEME", "THEMES", "ThemePalette", "apply_theme", "current_palette", "current_theme", "load_stylesheet", "palette_for", "theme_name"]
