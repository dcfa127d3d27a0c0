"""Unit ID -> name, from the site's CSV, for the channel tiles and the event log (pure; no Qt).

The CSV has two columns, ``unit`` and ``name``, with an optional header row (``unit,name`` in any
case). Lines whose first cell starts with ``#`` and blank lines are skipped. A unit is an MDC1200 ID
(1-4 hex digits, kept as 4 upper-case digits: ``1a2`` is ``01A2``) or a 5-tone address (5-7 digits,
kept as written). A bad row is reported as ``FILE:LINE: what`` and left out; the rest load.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_NAME = 40
_HEX_UNIT = re.compile(r"(?:0x)?[0-9a-fA-F]{1,4}")
_SELCALL_UNIT = re.compile(r"[0-9A-Fa-f]{5,7}")


class UnitAliasError(ValueError):
    """The alias file cannot be read at all (missing, not text); says which file and why."""


def unit_key(unit: str) -> str:
    """The form a unit is looked up by: MDC1200 IDs as 4 upper-case hex digits, others upper-cased."""
    text = unit.strip()
    if _HEX_UNIT.fullmatch(text):
        digits = text[2:] if text.lower().startswith("0x") else text
        return f"{int(digits, 16):04X}"
    return text.upper()


@dataclass(frozen=True)
class UnitAliases:
    names: dict[str, str] = field(default_factory=dict)  # unit_key -> name
    source: str = ""

    def name(self, unit: str) -> str:
        """The unit's name, or "" when the table does not know it."""
        if not unit:
            return ""
        return self.names.get(unit_key(unit), "")

    def __len__(self) -> int:
        return len(self.names)


def parse_unit_aliases(text: str, name: str) -> tuple[UnitAliases, list[str]]:
    """The table and the problems found, each "NAME:LINE: what". Never raises."""
    names: dict[str, str] = {}
    lines: dict[str, int] = {}
    problems: list[str] = []
    for index, cells in enumerate(csv.reader(io.StringIO(text))):
        line = index + 1
        where = f"{name}:{line}"
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if index == 0 and [c.lower() for c in cells[:2]] == ["unit", "name"]:
            continue
        if len(cells) < 2 or not cells[1]:
            problems.append(f"{where}: expected 'unit,name', got {','.join(cells)!r}; row skipped")
            continue
        if any(cells[2:]):
            problems.append(f"{where}: {len(cells)} cells, expected 2 (unit,name); put names with commas "
                            "in double quotes; row skipped")
            continue
        unit, alias = cells[0], cells[1]
        if not (_HEX_UNIT.fullmatch(unit) or _SELCALL_UNIT.fullmatch(unit)):
            problems.append(f"{where}: unit {unit!r} is neither an MDC1200 ID (1-4 hex digits) nor a "
                            "5-tone address (5-7 digits); row skipped")
            continue
        if len(alias) > MAX_NAME or any(ord(ch) < 32 for ch in alias):
            problems.append(f"{where}: name {alias[:60]!r} is longer than {MAX_NAME} characters or has "
                            "control characters; row skipped")
            continue
        key = unit_key(unit)
        if key in names:
            problems.append(f"{where}: unit {key} is already named {names[key]!r} on line {lines[key]}; "
                            "this row skipped")
            continue
        names[key] = alias
        lines[key] = line
    return UnitAliases(names, name), problems


def load_unit_aliases(path: Path | str) -> tuple[UnitAliases, list[str]]:
    """Read the alias CSV at ``path``; UnitAliasError when it cannot be read at all."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UnitAliasError(f"{path}: cannot read the unit alias file: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise UnitAliasError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[err.start]:02X})") from None
    return parse_unit_aliases(text, str(path))
