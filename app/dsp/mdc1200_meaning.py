"""MDC1200 opcodes: what an (op, arg) pair means, and the pairs the console sends (signaling-specs.md 4.5).

The table is the community list the reference quotes (uv-k5 firmware, cross-checked with app_rpt).
Pre-ID (0x80) versus post-ID (0x00) is only [SECONDARY] there, so both read as a unit ID, and both
emergency args (0x80, 0x81) read as an emergency, as app_rpt decodes them.
"""

from __future__ import annotations

# The pairs the console transmits (encode side); names are what the CLI and the tile use.
PTT_ID_PRE = (0x01, 0x80)
PTT_ID_POST = (0x01, 0x00)
EMERGENCY = (0x00, 0x81)
EMERGENCY_ACK = (0x20, 0x00)
RADIO_CHECK = (0x63, 0x85)
RADIO_CHECK_ACK = (0x30, 0x00)
CALL_ALERT = (0x35, 0x89)  # a double packet: the second block carries 4 extra bytes
STATUS_OP = 0x46
MESSAGE_OP = 0x47  # message with acknowledge expected
MESSAGE_NOACK_OP = 0x07
STATUS_ACK = (0x23, 0x00)

EMERGENCY_OP = 0x00
EMERGENCY_ARGS = frozenset({0x80, 0x81})

# Ops whose packet is followed by a second coded block with 4 extra bytes (mdc_decode.c, per the reference).
DOUBLE_PACKET_OPS = frozenset({0x35, 0x55})

NAMED: dict[str, tuple[int, int]] = {
    "ptt_id": PTT_ID_PRE,
    "post_id": PTT_ID_POST,
    "emergency": EMERGENCY,
    "emergency_ack": EMERGENCY_ACK,
    "radio_check": RADIO_CHECK,
    "radio_check_ack": RADIO_CHECK_ACK,
    "call_alert": CALL_ALERT,
    "status_ack": STATUS_ACK,
}

_EXACT: dict[tuple[int, int], str] = {
    (0x01, 0x80): "PTT ID",
    (0x01, 0x00): "POST ID",
    (0x00, 0x81): "emergency",
    (0x00, 0x80): "emergency",
    (0x20, 0x00): "emergency acknowledge",
    (0x11, 0x8A): "remote monitor",
    (0x22, 0x06): "status request",
    (0x2B, 0x00): "radio disable",
    (0x2B, 0x0C): "radio enable",
    (0x0B, 0x00): "radio disable acknowledge",
    (0x0B, 0x0C): "radio enable acknowledge",
    (0x35, 0x89): "call alert",
    (0x23, 0x00): "status/message acknowledge",
    (0x63, 0x85): "radio check",
    (0x30, 0x00): "radio check acknowledge",
    (0x40, 0x01): "request to talk",
    (0x41, 0x01): "request to talk",
}


def meaning(op: int, arg: int) -> str:
    """A short English description of (op, arg); unknown pairs read as ``op 0xNN arg 0xNN``."""
    known = _EXACT.get((op, arg))
    if known is not None:
        return known
    if op == STATUS_OP:
        return f"status {arg}"
    if op == MESSAGE_OP:
        return f"message {arg} (ack expected)"
    if op == MESSAGE_NOACK_OP:
        return f"message {arg}"
    return f"op 0x{op:02X} arg 0x{arg:02X}"


def is_emergency(value: dict) -> bool:
    """True for a decoded MDC1200 value (``{"op", "arg", ...}``) that is an emergency alarm."""
    try:
        return int(value["op"]) == EMERGENCY_OP and int(value["arg"]) in EMERGENCY_ARGS
    except (KeyError, TypeError, ValueError):
        return False


def emergency_ack(unit: int | str) -> tuple[int, int]:
    """The (op, arg) that acknowledges ``unit``'s emergency; send it with ``encode_mdc1200(op, arg, unit)``."""
    parse_unit(unit)  # a bad unit is an error here, not when the console transmits
    return EMERGENCY_ACK


def parse_unit(unit: int | str) -> int:
    """A unit ID as 0..0xFFFF from an int or a string of 1-4 hex digits ("1234", "0x1234")."""
    if isinstance(unit, bool):
        raise ValueError(f"MDC1200 unit ID {unit!r} is not a number")  # noqa: TRY004 - one error class for bad input
    if isinstance(unit, int):
        value = unit
    elif isinstance(unit, str):
        text = unit.strip()
        digits = text[2:] if text.lower().startswith("0x") else text
        if not 1 <= len(digits) <= 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError(f"MDC1200 unit ID {unit!r} is not 1-4 hex digits")
        value = int(digits, 16)
    else:
        raise ValueError(f"MDC1200 unit ID {unit!r} is not an int or a hex string")  # noqa: TRY004 - as above
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"MDC1200 unit ID {unit!r} is outside 0000-FFFF")
    return value


def unit_text(unit: int) -> str:
    """The unit ID as the console shows it: 4 upper-case hex digits."""
    return f"{unit:04X}"
