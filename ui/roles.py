"""The three role views and the keys that switch between them."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Role:
    key: str  # stored in settings ("window/role") and matched against PositionInfo.role
    title: str
    shortcut: str  # Ctrl+digit: works from every view, never types into a field, same on every layout


ROLES: tuple[Role, ...] = (
    Role("dispatcher", "Dispatcher", "Ctrl+1"),
    Role("calltaker", "Call-taker", "Ctrl+2"),
    Role("technician", "Technician", "Ctrl+3"),
)
ROLE_KEYS = tuple(role.key for role in ROLES)


def role_key(text: object) -> str | None:
    """Match a profile's or a setting's role however it is spelled ("Call-Taker", "call_taker", "tech")."""
    if not isinstance(text, str):
        return None
    squashed = re.sub(r"[^a-z]", "", text.lower())
    if not squashed:
        return None
    for key in ROLE_KEYS:
        if key.startswith(squashed) or squashed.startswith(key):
            return key
    return None


def role_index(key: str) -> int:
    return ROLE_KEYS.index(key)
