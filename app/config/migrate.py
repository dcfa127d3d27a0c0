"""Profile schema migrations: a profile written for an older console is read by a newer one.

A migration turns the TOML data of version N-1 into version N (a pure dict -> dict step). They run
in memory every time the profile is loaded; the file on disk is left exactly as the technician wrote
it, comments included, so the position can still go back to the older console. ``config check``
says which migrations applied, so the technician can bring the file up to date by hand when ready.

To change the profile format: bump ``CURRENT_SCHEMA_VERSION`` in schema.py and append a
``ProfileMigration`` with that version here; never edit one that has shipped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.config import schema

ProfileData = dict[str, Any]


@dataclass(frozen=True)
class ProfileMigration:
    version: int  # the version this step produces
    description: str
    apply: Callable[[ProfileData], ProfileData]


#: Every migration, oldest first. Version 1 is the first profile format, so there are none yet.
PROFILE_MIGRATIONS: tuple[ProfileMigration, ...] = ()


class MigrationError(ValueError):
    """A migration step failed on this profile's data."""


def migrate_profile_data(
    data: ProfileData,
    migrations: Sequence[ProfileMigration] | None = None,
    current: int | None = None,
) -> tuple[ProfileData, list[str]]:
    """The data brought to ``current`` (default: this console's version), and one note per step applied.

    Data without ``schema_version`` is version 1. Data newer than ``current`` is returned as it is,
    for the schema to refuse with its own message. ``data`` itself is never changed.
    """
    migrations = PROFILE_MIGRATIONS if migrations is None else migrations
    current = schema.CURRENT_SCHEMA_VERSION if current is None else current
    _check_sequence(migrations, current)
    found = data.get("schema_version", 1)
    if not isinstance(found, int) or isinstance(found, bool) or found >= current:
        return data, []
    upgraded = copy.deepcopy(data)
    notes = []
    for migration in migrations:
        if migration.version <= found:
            continue
        try:
            upgraded = migration.apply(upgraded)
        except Exception as err:  # noqa: BLE001 - any failure is reported against the step
            raise MigrationError(f"upgrading the profile to schema {migration.version} "
                                 f"({migration.description}) failed: {err}") from err
        upgraded["schema_version"] = migration.version
        notes.append(f"read as schema {migration.version}: {migration.description}")
    return upgraded, notes


def _check_sequence(migrations: Sequence[ProfileMigration], current: int) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(2, 2 + len(versions))) or (versions and versions[-1] != current):
        raise ValueError(f"profile migrations must run 2, 3, ... up to {current} without gaps; got {versions}")
