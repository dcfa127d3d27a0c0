"""Phone numbers and street addresses reduced to keys, so the registry matches however they were written (pure).

A site's registry says "123 North Main Street, Apt 4" where the ALI spill says house ``123``, prefix ``N``,
street ``MAIN ST``; both must become the same key.

Address key: ``"HOUSE DIR STREET|COMMUNITY"``, for example ``"123 N MAIN ST|DEMO CITY"``.

* Upper case, punctuation removed, spaces collapsed.
* HOUSE is the number without leading zeros, a letter suffix joined to it (``123A``; "123-A" and
  "123 A" written as ALI fields give the same), a fraction after a space (``123 1/2``).
* Every word is abbreviated the USPS way: street types (STREET -> ST, AVENUE -> AVE, ...),
  directionals (NORTH -> N, SOUTH WEST -> SW), ordinals (FIRST -> 1ST ... TWENTIETH -> 20TH), SAINT -> ST.
  Applied to every word, not only the last: both sides go through the same function, so a street
  called "North St" becomes "N ST" on both and still matches.
* The unit is dropped: a unit designator (APT, UNIT, #, STE, SUITE, BLDG, FL, RM, LOT, ...) and all
  after it, and everything after the first comma (a unit or the town). The registry matches a
  building; the unit belongs in the notes. ALI carries the unit in its own location field anyway.
* COMMUNITY is the community (city) normalized the same way, or empty. Whether an empty community
  matches any community is the registry's rule (app.calls.registry), not this module's.

A key is "" when there is nothing to match on: no house number or no street name.
"""

from __future__ import annotations

import re

# Extension written after a number: "x12", "ext. 12", "extension 12".
_EXTENSION = re.compile(r"\s*(?:x|ext\.?|extension)\s*\d+\s*$", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"[0-9()\-. +/]+")

STREET_TYPES: dict[str, str] = {
    "ALLEY": "ALY", "AVENUE": "AVE", "AV": "AVE", "BOULEVARD": "BLVD", "BOUL": "BLVD", "CIRCLE": "CIR",
    "COURT": "CT", "COVE": "CV", "CROSSING": "XING", "DRIVE": "DR", "EXPRESSWAY": "EXPY", "FREEWAY": "FWY",
    "HIGHWAY": "HWY", "HIGHWY": "HWY", "LANE": "LN", "LOOP": "LOOP", "PARKWAY": "PKWY", "PKY": "PKWY",
    "PLACE": "PL", "PLAZA": "PLZ", "POINT": "PT", "ROAD": "RD", "ROUTE": "RTE", "SQUARE": "SQ",
    "STREET": "ST", "STR": "ST", "TERRACE": "TER", "TRAIL": "TRL", "TURNPIKE": "TPKE", "WAY": "WAY",
    "CENTER": "CTR", "CENTRE": "CTR", "HEIGHTS": "HTS", "JUNCTION": "JCT", "MOUNT": "MT", "FORT": "FT",
    "SAINT": "ST",
}

DIRECTIONALS: dict[str, str] = {
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W",
    "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}
# Two words that are one directional: "SOUTH WEST" -> "SW".
_DIRECTIONAL_PAIRS: dict[tuple[str, str], str] = {
    (first, second): first[0] + second[0]
    for first in ("NORTH", "SOUTH", "N", "S") for second in ("EAST", "WEST", "E", "W")
}

ORDINALS: dict[str, str] = {
    word: f"{number}{'TH' if 10 < number < 14 else {1: 'ST', 2: 'ND', 3: 'RD'}.get(number % 10, 'TH')}"
    for number, word in enumerate(
        ("FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH", "SIXTH", "SEVENTH", "EIGHTH", "NINTH", "TENTH",
         "ELEVENTH", "TWELFTH", "THIRTEENTH", "FOURTEENTH", "FIFTEENTH", "SIXTEENTH", "SEVENTEENTH",
         "EIGHTEENTH", "NINETEENTH", "TWENTIETH"),
        start=1,
    )
}

# Words that start the unit part of an address; they and everything after them are dropped.
UNIT_DESIGNATORS = frozenset({
    "#", "APT", "APARTMENT", "UNIT", "STE", "SUITE", "BLDG", "BUILDING", "FL", "FLR", "FLOOR", "RM", "ROOM",
    "LOT", "SPC", "SPACE", "TRLR", "TRAILER",
})

_WORD_MAP: dict[str, str] = {**STREET_TYPES, **DIRECTIONALS, **ORDINALS}
# What survives punctuation removal: letters, digits, "#" (a unit), "/" (a house fraction).
_NOT_KEPT = re.compile(r"[^0-9A-Z#/ ]+")
_HOUSE = re.compile(r"^0*(\d+)([A-Z])?$")  # "00123", "123A" (a hyphen was removed by _tokens)
_FRACTION = re.compile(r"^\d/\d$")


def normalize_phone(text: str | None) -> str:
    """Ten digits, or "" when ``text`` is not a North American number.

    Accepts the usual ways of writing one: "(719) 555-0101", "719.555.0101", "+1 719 555 0101",
    "1-719-555-0101", with an extension ("x12") that is ignored.
    """
    if not text:
        return ""
    value = _EXTENSION.sub("", text.strip())
    if not value or not _PHONE_CHARS.fullmatch(value):
        return ""
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return digits if len(digits) == 10 else ""


def normalize_words(text: str | None) -> str:
    """Upper case, punctuation removed, spaces collapsed (for communities and other plain names)."""
    if not text:
        return ""
    return " ".join(_NOT_KEPT.sub(" ", text.upper().replace("#", " ").replace("/", " ")).split())


def _tokens(text: str) -> list[str]:
    # Apostrophes join ("O'Brien" -> OBRIEN); "#4" splits into "#", "4" so the designator is seen.
    upper = text.upper().replace("'", "").replace("’", "").replace("#", " # ")
    # A hyphen inside a house number joins: "123-A" -> "123A", Queens-style "123-45" -> "12345".
    upper = re.sub(r"(?<=\d)-(?=\d|[A-Z]\b)", "", upper)
    return _NOT_KEPT.sub(" ", upper).split()


def _street_words(words: list[str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        # A designator ends the street, unless it is the street's first word ("100 Lot Rd").
        if out and word in UNIT_DESIGNATORS:
            break
        pair = (word, words[index + 1]) if index + 1 < len(words) else None
        if pair in _DIRECTIONAL_PAIRS:
            out.append(_DIRECTIONAL_PAIRS[pair])
            index += 2
            continue
        out.append(_WORD_MAP.get(word, word))
        index += 1
    return out


def _split_house(words: list[str]) -> tuple[str, list[str]]:
    """The house part ("123", "123A", "123 1/2") and the words after it; ("", words) if none."""
    if not words:
        return "", words
    match = _HOUSE.fullmatch(words[0])
    if match is None:
        return "", words
    house = match.group(1) + (match.group(2) or "")
    rest = words[1:]
    if rest and _FRACTION.fullmatch(rest[0]):
        house += " " + rest[0]
        rest = rest[1:]
    return house, rest


def _key(house: str, street: list[str], community: str) -> str:
    if not house or not street:
        return ""
    return f"{house} {' '.join(street)}|{normalize_words(community)}"


def normalize_address_text(text: str | None, community: str | None = "") -> str:
    """The key of an address written as one line, e.g. "123 North Main Street Apt 4"."""
    if not text:
        return ""
    street_part = text.split(",", 1)[0]
    house, rest = _split_house(_tokens(street_part))
    return _key(house, _street_words([w for w in rest if w != "/"]), community or "")


def normalize_address(
    house: str | None,
    suffix: str | None,
    prefix_dir: str | None,
    street: str | None,
    community: str | None = "",
) -> str:
    """The key of an address given as ALI fields (house number, house suffix, prefix directional, street)."""
    if not (street or "").strip():
        return ""  # a directional alone is not a street
    house_words = _tokens(house or "")
    suffix_words = _tokens(suffix or "")
    number = house_words[0] if len(house_words) == 1 else ""
    match = _HOUSE.fullmatch(number)
    if match is None:
        return ""
    house_key = match.group(1) + (match.group(2) or "")
    if len(suffix_words) == 1 and not match.group(2) and re.fullmatch(r"[A-Z]", suffix_words[0]):
        house_key += suffix_words[0]
    elif len(suffix_words) == 1 and _FRACTION.fullmatch(suffix_words[0]):
        house_key += " " + suffix_words[0]
    street_words = _tokens(f"{prefix_dir or ''} {street or ''}")
    return _key(house_key, _street_words([w for w in street_words if w != "/"]), community or "")


def split_key(key: str) -> tuple[str, str]:
    """(street part, community) of an address key; ("", "") for ""."""
    street, _bar, community = key.partition("|")
    return street, community
