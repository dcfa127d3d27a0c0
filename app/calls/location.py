"""What a parsed ALI record says about where the caller is, and how far to trust it (pure; no Qt).

The call-taker reads location first, so these functions turn a record (app.ali.parse RECORD_KEYS)
into the lines the pop shows, say when the location must be confirmed with the caller, and give
the numbers a later spill (a rebid) is matched on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Class-of-service codes (4-letter display codes and 1-character exchange codes; ali-formats.md 7).
WIRELESS_CODES = frozenset({"WPH1", "WPH2", "WRLS", "8", "G", "H"})
PHASE1_CODES = frozenset({"WPH1", "G"})
VOIP_CODES = frozenset({"VOIP"})
LARGE_UNCERTAINTY_M = 300  # beyond this a Phase II fix is a search area, not a location


def _get(record: Mapping[str, Any], key: str) -> Any:
    value = record.get(key)
    return value if value not in ("", None) else None


def street_address(record: Mapping[str, Any]) -> str:
    """'1234A N MAIN ST' from house number, suffix, prefix directional and street ('' when none)."""
    house = (_get(record, "house_number") or "") + (_get(record, "house_suffix") or "")
    parts = [house, _get(record, "prefix_directional") or "", _get(record, "street") or ""]
    return " ".join(str(p).strip() for p in parts if p and str(p).strip())


def coordinates_text(record: Mapping[str, Any]) -> str:
    lat, lon = _get(record, "latitude"), _get(record, "longitude")
    if lat is None or lon is None:
        return ""
    text = f"{float(lat):+.6f}, {float(lon):+.6f}"
    unc, conf = _get(record, "uncertainty_m"), _get(record, "confidence_pct")
    if unc is not None:
        text += f"  ±{unc} m"
        if conf is not None:
            text += f" ({conf}% confidence)"
    return text


def location_lines(record: Mapping[str, Any]) -> list[str]:
    """The location block of the pop, most useful first; empty when the record has no location."""
    lines = []
    address = street_address(record)
    if address:
        lines.append(address)
    where = _get(record, "location")
    if where:
        lines.append(str(where))
    coords = coordinates_text(record)
    if coords:
        lines.append(coords)
    place = " ".join(str(v) for v in (_get(record, "community"), _get(record, "state")) if v)
    if place:
        lines.append(place)
    return lines


def one_line_location(record: Mapping[str, Any]) -> str:
    """Address, else coordinates, else '' - for lists such as the callback list."""
    address = street_address(record)
    if address:
        community = _get(record, "community")
        return f"{address}, {community}" if community else address
    return coordinates_text(record)


def agencies_text(record: Mapping[str, Any]) -> str:
    esn = _get(record, "esn")
    agencies = [a for a in (record.get("agencies") or []) if a]
    parts = ([f"ESN {esn}"] if esn else []) + agencies
    return "  ·  ".join(parts)


def location_warning(spill_kind: str | None, record: Mapping[str, Any]) -> str:
    """Why the call-taker must confirm the location with the caller; '' when the spill is a street address."""
    if spill_kind is None:
        return "No ALI received yet: ask the caller where the emergency is."
    if spill_kind != "ali":
        return "The spill did not read as a location: read the raw text and confirm with the caller."
    cos = (_get(record, "class_of_service") or "").upper()
    has_coords = _get(record, "latitude") is not None and _get(record, "longitude") is not None
    if cos in PHASE1_CODES:
        return "Wireless Phase I: this is the cell site, not the caller. Confirm the location; rebid for Phase II."
    if cos in WIRELESS_CODES and not has_coords:
        return "Wireless call with no coordinates: confirm the caller's location."
    if cos in WIRELESS_CODES:
        unc = _get(record, "uncertainty_m")
        if unc is not None and float(unc) > LARGE_UNCERTAINTY_M:
            return f"Wireless location uncertain by {unc} m: confirm the caller's location."
        return ""
    if cos in VOIP_CODES:
        return "VoIP: this is the subscriber's registered address, which may not be where the caller is. Confirm."
    if not street_address(record) and not has_coords:
        return "The spill has no address or coordinates: confirm the caller's location."
    return ""


def wants_rebid(record: Mapping[str, Any]) -> bool:
    """A location a rebid may improve: Phase I, or wireless without coordinates."""
    cos = (_get(record, "class_of_service") or "").upper()
    has_coords = _get(record, "latitude") is not None and _get(record, "longitude") is not None
    return cos in PHASE1_CODES or (cos in WIRELESS_CODES and not has_coords)


def call_keys(record: Mapping[str, Any]) -> frozenset[str]:
    """What ties a spill to a call: the pANI/ESRK of a wireless call, the ANI and the callback number."""
    keys = set()
    for name in ("pani", "ani", "callback"):
        value = _get(record, name)
        if value:
            keys.add(str(value))
    return frozenset(keys)
