"""`dispatch-console config check FILE`: validate a profile without starting anything."""

from pathlib import Path

from app.config.load import ProfileError, load_profile

EXIT_OK = 0
EXIT_INVALID = 2


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_profile(path: str | Path) -> tuple[int, list[str]]:
    """(exit code, lines to print): one OK line, or one line per problem and exit code 2."""
    try:
        profile = load_profile(path)
    except ProfileError as err:
        return EXIT_INVALID, str(err).splitlines()
    summary = (
        f"position {profile.position.name}, "
        f"{_count(len(profile.radios), 'radio')}, {_count(len(profile.inputs), 'input')}"
    )
    upgraded = [f"{path}: schema_version: {note}; the file is unchanged (update it when the position no "
                f"longer needs the older console)" for note in profile.migration_notes]
    return EXIT_OK, [f"OK: {path} ({summary})", *upgraded]
