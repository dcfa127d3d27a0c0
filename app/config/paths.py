"""Where a position keeps its profile and data, per platform (platformdirs), with env overrides for tests.

Nothing here creates folders: whoever writes a file makes its parent, so merely asking for a path is harmless.
"""

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from app.config.schema import Profile

APP_NAME = "dispatch-console"
CONFIG_DIR_ENV = "DISPATCH_CONSOLE_CONFIG_DIR"
DATA_DIR_ENV = "DISPATCH_CONSOLE_DATA_DIR"
DEFAULT_PROFILE_NAME = "position.toml"


def _override(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    # appauthor=False: no extra "<author>" folder level on Windows.
    return _override(CONFIG_DIR_ENV) or platformdirs.user_config_path(APP_NAME, appauthor=False)


def data_dir() -> Path:
    return _override(DATA_DIR_ENV) or platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_profile_path() -> Path:
    return config_dir() / DEFAULT_PROFILE_NAME


def slug(name: str) -> str:
    """A file-name-safe form of a position name: "DEMO-1" -> "demo-1", "Fire Disp #2" -> "fire-disp-2"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "position"


def storage_path(profile: "Profile") -> Path:
    """The position's SQLite file: [storage].path if set (relative to the profile), else one per position name."""
    configured = profile.resolved_path(profile.storage.path)
    if configured is not None:
        return configured
    return data_dir() / f"{slug(profile.position.name)}.sqlite3"
