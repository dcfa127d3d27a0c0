"""The transfer directory: agencies and their numbers from the site's CSV, found by typing (no Qt).

The CSV has a header row (any case, any order): ``name``, ``number`` (both required), ``category``
(or ``type`` / ``agency type``), ``notes``, ``keys`` (or ``aliases``: short names separated by ``;``,
e.g. ``JTPD; J-town``). Lines whose first cell starts with ``#`` are comments. A bad row is reported
as ``FILE:LINE: what`` and left out; the rest load.

Numbers are written as dialled from the site: digits, with ``( ) - . / +`` and spaces for reading,
``,`` for a pause, ``*`` and ``#``, and an extension as ``x123`` or ``ext 123`` (dialled after a pause).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.calls.csv_cells import cell_reader, shifted_row_problem

COLUMN_ALIASES: dict[str, str] = {
    "name": "name", "agency": "name",
    "number": "number", "phone": "number",
    "category": "category", "type": "category", "agency type": "category", "agency_type": "category",
    "notes": "notes",
    "keys": "keys", "aliases": "keys", "alias": "keys",
}
REQUIRED = ("name", "number")
# Small words left out of initials: "Little Rock Police Department" -> LRPD, "Bureau of ..." -> B...
STOP_WORDS = frozenset({"and", "of", "the", "for", "&", "a", "an", "at", "in", "on"})
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*(\d+)\s*$", re.IGNORECASE)
_DIAL_SEPARATORS = re.compile(r"[\s()\-./+]")
_DIALABLE = re.compile(r"[0-9*#,]*")
_WORD = re.compile(r"[0-9a-z]+")


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    name: str
    number: str  # as written in the CSV (shown); dial_string() gives what is dialled
    category: str = ""
    notes: str = ""
    keys: tuple[str, ...] = ()  # aliases the operator may type, e.g. ("JTPD",)
    source_line: int = 0


# ---- numbers ----------------------------------------------------------------------------------------

def dial_string(number: str) -> str:
    """What to dial for ``number``: digits, ``*``, ``#`` and ``,`` (a pause). Raises ValueError if not a number.

    "(502) 267-0503" -> "5022670503"; "1 (800) 222-5555" -> "18002225555"; "(502) 555-0100 x12" ->
    "5025550100,12". An outside-line prefix, if the site needs one, belongs to the phone side, not here.
    """
    text = number.strip()
    extension = ""
    found = _EXTENSION.search(text)
    if found:
        extension, text = found.group(1), text[:found.start()]
    digits = _DIAL_SEPARATORS.sub("", text)
    if not _DIALABLE.fullmatch(digits) or not re.search(r"\d", digits):
        raise ValueError(f"{number!r} is not a number to dial (digits, * # , and ( ) - . / + only)")
    return f"{digits},{extension}" if extension else digits


def number_digits(number: str) -> str:
    return re.sub(r"\D", "", number)


# ---- loading ------------------------------------------------------------------------------------------

def _split_keys(text: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in re.split(r"[;|]", text) if key.strip())


def parse_directory_csv(text: str, name: str) -> tuple[tuple[DirectoryEntry, ...], list[str]]:
    """Entries in file order and the problems found, each "NAME:LINE: what". Never raises."""
    entries: list[DirectoryEntry] = []
    problems: list[str] = []
    columns: dict[str, int] | None = None
    width = 0
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    last_line = 0
    try:
        for cells in reader:
            first_line, last_line = last_line + 1, reader.line_num
            where = f"{name}:{first_line}"
            if not any(cell.strip() for cell in cells) or cells[0].lstrip().startswith("#"):
                continue
            if columns is None:
                columns, reason = _header(cells, where, problems)
                if reason:
                    return (), [reason]
                width = len(cells)
                continue
            entry = _entry(cells, columns, width, where, first_line, problems)
            if entry is not None:
                entries.append(entry)
    except csv.Error as exc:
        problems.append(f"{name}:{reader.line_num}: not a readable CSV file: {exc}")
        return tuple(entries), problems
    if columns is None:
        problems.append(f"{name}: the file has no header row (name, number, category, notes, keys)")
    return tuple(entries), problems


def _header(cells: list[str], where: str, problems: list[str]) -> tuple[dict[str, int], str | None]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        label = " ".join(cell.strip().lower().split())
        column = COLUMN_ALIASES.get(label)
        if column is None:
            if label:
                problems.append(f"{where}: column {label!r} is not used (known: name, number, category, notes, keys)")
            continue
        if column in columns:
            return {}, f"{where}: column {column!r} is named twice in the header"
        columns[column] = index
    missing = [column for column in REQUIRED if column not in columns]
    if missing:
        found = ", ".join(repr(cell.strip()) for cell in cells)
        return {}, f"{where}: the first row must be the header with columns name and number; found {found}"
    return columns, None


def _entry(cells: list[str], columns: dict[str, int], width: int, where: str, line: int,
           problems: list[str]) -> DirectoryEntry | None:
    shifted = shifted_row_problem(cells, width, where)
    if shifted:
        problems.append(shifted)
        return None
    cell = cell_reader(cells, columns)

    name, number = cell("name"), cell("number")
    if not name:
        problems.append(f"{where}: no name; row skipped")
        return None
    if not number:
        problems.append(f"{where}: {name!r} has no number; row skipped")
        return None
    try:
        dial_string(number)
    except ValueError as exc:
        problems.append(f"{where}: {exc}; row skipped")
        return None
    return DirectoryEntry(name, number, cell("category"), cell("notes"), _split_keys(cell("keys")), line)


def load_directory(path: str | Path) -> tuple[tuple[DirectoryEntry, ...], list[str]]:
    """The directory file's entries in file order, and its problems. Never raises: a missing or
    unreadable file gives no entries and one problem saying why."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return (), [f"{path}: cannot read the directory file: {exc.strerror or exc}"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return (), [f"{path}:{line}: byte 0x{data[exc.start]:02X} is not UTF-8; save the file as UTF-8"]
    return parse_directory_csv(text, str(path))


# ---- searching -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Terms:
    name: str  # lower case, words separated by single spaces
    name_words: tuple[str, ...]
    initials: str
    keys: tuple[str, ...]  # lower case, punctuation removed
    other_words: tuple[str, ...]  # category, notes and key words
    other: str  # category and notes, lower case
    digits: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower().replace("'", "").replace("’", "")))


@lru_cache(maxsize=4096)
def _terms(entry: DirectoryEntry) -> _Terms:
    name_words = _words(entry.name)
    initials = "".join(word[0] for word in name_words if word not in STOP_WORDS)
    keys = tuple("".join(_words(key)) for key in entry.keys)
    other_words = _words(f"{entry.category} {entry.notes} {' '.join(entry.keys)}")
    return _Terms(" ".join(name_words), name_words, initials, keys, other_words,
                  f"{entry.category} {entry.notes}".lower(), number_digits(entry.number))


def _all_prefix(query: tuple[str, ...], words: tuple[str, ...]) -> bool:
    return all(any(word.startswith(q) for word in words) for q in query)


def _rank(terms: _Terms, query_words: tuple[str, ...], joined: str, raw: str) -> int | None:
    """0 best ... 5 worst, None for no match."""
    if joined and (joined in terms.keys or joined == terms.initials or " ".join(query_words) == terms.name):
        return 0  # the alias, the initials ("LRPD") or the whole name
    if len(joined) > 1 and len(query_words) == 1 and (
            any(key.startswith(joined) for key in terms.keys) or
            (len(terms.initials) > 1 and terms.initials.startswith(joined))):
        return 1
    if query_words and _all_prefix(query_words, terms.name_words):
        return 2  # "jeff sher" -> Jefferson County Sheriff
    if query_words and _all_prefix(query_words, terms.name_words + terms.other_words):
        return 3  # a word of the category or notes: "poison", "police"
    if raw and (raw in terms.name or raw in terms.other):
        return 4
    query_digits = number_digits(raw)
    if len(query_digits) >= 3 and query_digits in terms.digits:
        return 5  # part of the number: "0503"
    return None


def search(entries: Sequence[DirectoryEntry], text: str) -> list[DirectoryEntry]:
    """Entries matching ``text``, best first (file order within a rank); all in file order for ""."""
    raw = " ".join(text.lower().split())
    query_words = _words(raw)
    if not raw:
        return list(entries)
    joined = "".join(query_words)
    ranked = []
    for order, entry in enumerate(entries):
        rank = _rank(_terms(entry), query_words, joined, raw)
        if rank is not None:
            ranked.append((rank, order, entry))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [entry for _rank_, _order, entry in ranked]
