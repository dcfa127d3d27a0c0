"""The special-needs and premise registry: imported from the site's CSV, matched when a call is answered (no Qt).

Centres keep lists from their special-needs notification forms and wander-risk programs: a person on
oxygen, a child who wanders, a premise with a hazard. This module imports such a list into the store's
``registry`` table and matches a call against it by phone number and by normalized address.

The CSV has a header row (column names in any case and order):
``phone, address, community, name, category, notes``. A row needs a phone or an address (or both).
A bad row is reported as ``FILE:LINE: what`` and left out; the rest are imported. Whole-file faults
(no header, not a CSV, every data row bad) leave the table as it was.

Matching rules (see app.calls.addresses for the address key):
* phone: the entry's number equals the call's ANI or callback number, all as 10 digits.
* address: same house number, directional and street; the community must be equal too, unless the
  entry or the call has none (an entry without a community matches that street in every community).
* wireless calls (WPH1, WPH2, ...) match by phone only: their ALI street is a tower or sector, not
  where the caller is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.calls.addresses import normalize_address, normalize_address_text, normalize_phone, split_key
from app.calls.csv_cells import cell_reader, shifted_row_problem
from app.calls.location import WIRELESS_CODES
from app.store.connection import open_for_reading, open_for_writing
from app.store.errors import StoreError
from app.store.schema import migrate

COLUMNS: tuple[str, ...] = ("phone", "address", "community", "name", "category", "notes")
# Class-of-service codes whose ALI address is a cell site, not the caller (ali-formats.md section 7).
MATCHED_ON_ORDER = {"phone+address": 0, "phone": 1, "address": 2}


@dataclass(frozen=True, slots=True)
class RegistryRow:
    """One entry as stored in the ``registry`` table."""

    phone: str  # 10 digits or ""
    address_key: str  # "HOUSE DIR STREET|COMMUNITY" or ""
    address: str  # as written in the CSV
    name: str
    category: str
    notes: str
    source_line: int


@dataclass(frozen=True, slots=True)
class RegistryMatch:
    """A registry entry that matches the call in hand, and on what it matched."""

    name: str
    category: str
    notes: str
    address: str  # as written in the CSV
    phone: str  # 10 digits or ""
    matched_on: str  # "phone", "address" or "phone+address"
    source_line: int
    community: str = ""  # normalized, "" when the entry has none


@dataclass(frozen=True)
class ParsedRegistry:
    rows: list[RegistryRow]
    skipped: int  # data rows left out
    problems: list[str]
    refused: bool  # the file as a whole cannot be used; keep the table as it is


@dataclass(frozen=True)
class ImportResult:
    rows: int  # entries in the registry table after this import (what matching now uses)
    skipped: int  # data rows of the file left out because of a problem
    problems: list[str] = field(default_factory=list)  # "FILE:LINE: what", for the technician
    status: str = "imported"  # "imported", "unchanged" (same file as last time) or "refused"


# ---- reading the CSV ------------------------------------------------------------------------------

def _decode(data: bytes) -> str:
    # Undecodable bytes become lone surrogates, so one bad row is reported instead of the whole file.
    text = data.decode("utf-8", errors="surrogateescape")
    return text.removeprefix("\ufeff")


def _bad_bytes(value: str) -> str | None:
    """The first undecodable byte in ``value`` as "0xNN", or None when the text is clean."""
    for ch in value:
        if "\udc80" <= ch <= "\udcff":
            return f"0x{ord(ch) - 0xDC00:02X}"
    return None


def _header(cells: list[str], where: str) -> tuple[dict[str, int], list[str], str | None]:
    """Column name -> index, notes about unused columns, or a reason the header cannot be used."""
    names = [cell.strip().lower() for cell in cells]
    bad = _bad_bytes("".join(names))
    if bad:
        return {}, [], f"{where}: byte {bad} in the header row is not UTF-8; save the file as UTF-8"
    if "phone" not in names and "address" not in names:
        found = ", ".join(repr(name) for name in names) or "nothing"
        return {}, [], (f"{where}: the first row must name the columns ({', '.join(COLUMNS)}) and include "
                        f"phone or address; found {found}")
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        return {}, [], f"{where}: column {duplicates[0]!r} appears more than once in the header"
    # A misspelt column ("adress") would silently empty that field in every row, so say so.
    unused = [f"{where}: column {name!r} is not used (known columns: {', '.join(COLUMNS)})"
              for name in names if name and name not in COLUMNS]
    return {name: index for index, name in enumerate(names) if name in COLUMNS}, unused, None


def _row(cells: list[str], columns: dict[str, int], width: int, name: str, line: int,
         problems: list[str]) -> RegistryRow | None:
    """The entry a data row holds, or None (with the reason appended to ``problems``)."""
    where = f"{name}:{line}"
    shifted = shifted_row_problem(cells, width, where)
    if shifted:
        problems.append(shifted)
        return None
    cell = cell_reader(cells, columns)

    values = {column: cell(column) for column in COLUMNS}
    for column, value in values.items():
        bad = _bad_bytes(value)
        if bad:
            problems.append(f"{where}: byte {bad} in column {column!r} is not UTF-8; row skipped "
                            "(save the file as UTF-8)")
            return None
    phone = normalize_phone(values["phone"])
    address_key = normalize_address_text(values["address"], values["community"])
    phone_problem = f"phone {values['phone']!r} is not a 10-digit number" if values["phone"] and not phone else ""
    address_problem = (f"address {values['address']!r} has no house number and street"
                       if values["address"] and not address_key else "")
    if not (phone or address_key):
        reason = " and ".join(p for p in (phone_problem, address_problem) if p) or "neither phone nor address"
        problems.append(f"{where}: {reason}; row skipped")
        return None
    # Half an entry still protects: keep what can match and say what cannot.
    if phone_problem:
        problems.append(f"{where}: {phone_problem}; matched by address only")
    if address_problem:
        problems.append(f"{where}: {address_problem}; matched by phone only")
    return RegistryRow(phone, address_key, values["address"], values["name"], values["category"],
                       values["notes"], line)


def parse_registry_csv(data: bytes, name: str) -> ParsedRegistry:
    """Read a registry CSV's bytes; ``name`` (the file's path) starts every problem. Never raises."""
    rows: list[RegistryRow] = []
    problems: list[str] = []
    skipped = data_rows = width = 0
    columns: dict[str, int] | None = None
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    last_line = 0
    try:
        for cells in reader:
            # A quoted field may span lines; a row is reported at the line it starts on.
            first_line, last_line = last_line + 1, reader.line_num
            where = f"{name}:{first_line}"
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns, unused, reason = _header(cells, where)
                if reason:
                    return ParsedRegistry([], 0, [reason], refused=True)
                width = len(cells)
                problems.extend(unused)
                continue
            data_rows += 1
            row = _row(cells, columns, width, name, first_line, problems)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
    except csv.Error as exc:
        return ParsedRegistry([], 0, [f"{name}:{reader.line_num}: not a readable CSV file: {exc}"], refused=True)
    if columns is None:
        return ParsedRegistry([], 0, [f"{name}: the file is empty; it needs a header row ({', '.join(COLUMNS)})"],
                              refused=True)
    if data_rows and not rows:
        # Most likely the wrong file or a broken export: keep the registry that worked.
        problems.append(f"{name}: no usable row; the registry was left as it was")
        return ParsedRegistry([], skipped, problems, refused=True)
    return ParsedRegistry(rows, skipped, problems, refused=False)


# ---- importing into the store ---------------------------------------------------------------------

def _count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM registry").fetchone()[0])


def import_registry_csv(db_path: str | Path, csv_path: str | Path, *, wall: float | None = None) -> ImportResult:
    """Replace the registry table with the CSV's entries, in one transaction; skip a file imported last time.

    Opens its own connection, so it may run while the console's store writer has the same file open
    (it waits up to the busy timeout for the writer's lock). Migrates an older store first.
    Raises ``StoreError`` only when the store itself cannot be opened or written; problems with the
    CSV come back in ``ImportResult.problems``.
    """
    db_path, csv_path = Path(db_path), Path(csv_path)
    try:
        data = csv_path.read_bytes()
    except OSError as exc:
        parsed = ParsedRegistry([], 0, [f"{csv_path}: cannot read the registry file: {exc.strerror or exc}"],
                                refused=True)
        data = b""
    else:
        parsed = parse_registry_csv(data, str(csv_path))
    source = str(csv_path.resolve())
    digest = hashlib.sha256(data).hexdigest()

    conn = open_for_writing(db_path)
    try:
        migrate(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = _replace(conn, parsed, source, digest, time.time() if wall is None else wall)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"event store {db_path}: cannot import the registry from {csv_path}: {exc}") from exc
    finally:
        conn.close()
    return result


def _replace(conn: sqlite3.Connection, parsed: ParsedRegistry, source: str, digest: str,
             wall: float) -> ImportResult:
    if parsed.refused:
        return ImportResult(_count(conn), parsed.skipped, list(parsed.problems), "refused")
    # The table holds whatever was imported last; the same bytes from the same file change nothing.
    last = conn.execute("SELECT source, sha256 FROM registry_imports ORDER BY id DESC LIMIT 1").fetchone()
    if last is not None and tuple(last) == (source, digest):
        return ImportResult(_count(conn), parsed.skipped, list(parsed.problems), "unchanged")
    conn.execute("DELETE FROM registry")
    conn.executemany(
        "INSERT INTO registry (phone, address_key, address, name, category, notes, source_line) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(r.phone, r.address_key, r.address, r.name, r.category, r.notes, r.source_line) for r in parsed.rows],
    )
    conn.execute(
        "INSERT INTO registry_imports (wall, source, sha256, rows, problems) VALUES (?, ?, ?, ?, ?)",
        (wall, source, digest, len(parsed.rows), "\n".join(parsed.problems)),
    )
    return ImportResult(len(parsed.rows), parsed.skipped, list(parsed.problems), "imported")


# ---- matching -------------------------------------------------------------------------------------

def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    return value if isinstance(value, str) else ""


def is_wireless(record: Mapping[str, Any]) -> bool:
    """A wireless call: its ALI address is where the cell site is, not the caller."""
    code = _text(record, "class_of_service").strip().upper()
    service = _text(record, "service").lower()
    return code in WIRELESS_CODES or "wireless" in service or "mobile" in service or bool(_text(record, "callback"))


def address_key_for_record(record: Mapping[str, Any]) -> str:
    """The address key of a parsed ALI record (app.ali.parse RECORD_KEYS), "" for wireless or no address."""
    if is_wireless(record):
        return ""
    return normalize_address(_text(record, "house_number"), _text(record, "house_suffix"),
                             _text(record, "prefix_directional"), _text(record, "street"),
                             _text(record, "community"))


def phones_for_record(record: Mapping[str, Any]) -> list[str]:
    """The caller's numbers in a parsed ALI record: ANI and the wireless callback number."""
    return [phone for phone in (normalize_phone(_text(record, "ani")), normalize_phone(_text(record, "callback")))
            if phone]


class RegistryIndex:
    """The registry in memory, keyed for dict lookups: matching runs on the control thread at answer."""

    def __init__(self, rows: Iterable[RegistryRow] = ()) -> None:
        self._rows: tuple[RegistryRow, ...] = tuple(rows)
        self._by_phone: dict[str, list[int]] = {}
        self._by_street: dict[str, list[int]] = {}
        for number, row in enumerate(self._rows):
            if row.phone:
                self._by_phone.setdefault(row.phone, []).append(number)
            street, _community = split_key(row.address_key)
            if street:
                self._by_street.setdefault(street, []).append(number)

    @classmethod
    def load(cls, db_path: str | Path) -> RegistryIndex:
        """Every entry of the store's registry table (read-only; safe while the writer runs)."""
        db_path = Path(db_path)
        conn = open_for_reading(db_path)
        try:
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'registry'").fetchone()
            if not has_table:
                raise StoreError(f"event store {db_path} has no registry table yet (an older schema); "
                                 "import the registry CSV first, which upgrades the store")
            rows = conn.execute(
                "SELECT phone, address_key, address, name, category, notes, source_line FROM registry ORDER BY id"
            ).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"event store {db_path}: cannot read the registry: {exc}") from exc
        finally:
            conn.close()
        return cls(RegistryRow(*row) for row in rows)

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> tuple[RegistryRow, ...]:
        return self._rows

    def match(self, *, phones: Iterable[str | None] = (), address_key: str = "") -> tuple[RegistryMatch, ...]:
        """Entries matching any of ``phones`` (any format) or ``address_key``; strongest match first."""
        on_phone: set[int] = set()
        for phone in phones:
            on_phone.update(self._by_phone.get(normalize_phone(phone), ()))
        on_address: set[int] = set()
        street, community = split_key(address_key)
        if street:
            for number in self._by_street.get(street, ()):
                _street, theirs = split_key(self._rows[number].address_key)
                if not theirs or not community or theirs == community:
                    on_address.add(number)
        matches = []
        for number in on_phone | on_address:
            row = self._rows[number]
            matched_on = ("phone+address" if number in on_phone and number in on_address
                          else "phone" if number in on_phone else "address")
            matches.append(RegistryMatch(row.name, row.category, row.notes, row.address, row.phone,
                                         matched_on, row.source_line, split_key(row.address_key)[1]))
        matches.sort(key=lambda m: (MATCHED_ON_ORDER[m.matched_on], m.source_line))
        return tuple(matches)

    def match_record(self, record: Mapping[str, Any]) -> tuple[RegistryMatch, ...]:
        """Entries matching a parsed ALI record (its ANI, callback number and, if wireline, address)."""
        return self.match(phones=phones_for_record(record), address_key=address_key_for_record(record))
