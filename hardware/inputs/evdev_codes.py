"""Linux input event codes a footswitch, headset or keypad sends (values of linux/input-event-codes.h).

Only the keys and buttons such devices are set up to send; ``key_code`` also takes a number
("183" or "0xb7") for anything not named here.
"""

from __future__ import annotations

EV_SYN = 0x00
EV_KEY = 0x01

KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2

_LETTERS = "QWERTYUIOP"  # codes 16..25
_HOME_ROW = "ASDFGHJKL"  # 30..38
_BOTTOM_ROW = "ZXCVBNM"  # 44..50

KEY_CODES: dict[str, int] = {
    "KEY_ESC": 1,
    **{f"KEY_{d}": 2 + i for i, d in enumerate("123456789")},
    "KEY_0": 11, "KEY_MINUS": 12, "KEY_EQUAL": 13, "KEY_BACKSPACE": 14, "KEY_TAB": 15,
    **{f"KEY_{c}": 16 + i for i, c in enumerate(_LETTERS)},
    "KEY_LEFTBRACE": 26, "KEY_RIGHTBRACE": 27, "KEY_ENTER": 28, "KEY_LEFTCTRL": 29,
    **{f"KEY_{c}": 30 + i for i, c in enumerate(_HOME_ROW)},
    "KEY_SEMICOLON": 39, "KEY_APOSTROPHE": 40, "KEY_GRAVE": 41, "KEY_LEFTSHIFT": 42, "KEY_BACKSLASH": 43,
    **{f"KEY_{c}": 44 + i for i, c in enumerate(_BOTTOM_ROW)},
    "KEY_COMMA": 51, "KEY_DOT": 52, "KEY_SLASH": 53, "KEY_RIGHTSHIFT": 54, "KEY_KPASTERISK": 55,
    "KEY_LEFTALT": 56, "KEY_SPACE": 57, "KEY_CAPSLOCK": 58,
    **{f"KEY_F{n}": 58 + n for n in range(1, 11)},  # F1..F10 = 59..68
    "KEY_NUMLOCK": 69, "KEY_SCROLLLOCK": 70,
    "KEY_KP7": 71, "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KPMINUS": 74, "KEY_KP4": 75, "KEY_KP5": 76,
    "KEY_KP6": 77, "KEY_KPPLUS": 78, "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81, "KEY_KP0": 82,
    "KEY_KPDOT": 83, "KEY_F11": 87, "KEY_F12": 88, "KEY_KPENTER": 96, "KEY_RIGHTCTRL": 97,
    "KEY_KPSLASH": 98, "KEY_SYSRQ": 99, "KEY_RIGHTALT": 100, "KEY_HOME": 102, "KEY_UP": 103,
    "KEY_PAGEUP": 104, "KEY_LEFT": 105, "KEY_RIGHT": 106, "KEY_END": 107, "KEY_DOWN": 108,
    "KEY_PAGEDOWN": 109, "KEY_INSERT": 110, "KEY_DELETE": 111, "KEY_MUTE": 113, "KEY_VOLUMEDOWN": 114,
    "KEY_VOLUMEUP": 115, "KEY_PAUSE": 119, "KEY_LEFTMETA": 125, "KEY_RIGHTMETA": 126,
    "KEY_NEXTSONG": 163, "KEY_PLAYPAUSE": 164, "KEY_PREVIOUSSONG": 165, "KEY_STOPCD": 166,
    "KEY_PHONE": 169,
    **{f"KEY_F{n}": 170 + n for n in range(13, 25)},  # F13..F24 = 183..194: unused by desktops, ideal for pedals
    "KEY_PLAYCD": 200, "KEY_PAUSECD": 201, "KEY_MICMUTE": 248,
    "KEY_PICKUP_PHONE": 0x1BD, "KEY_HANGUP_PHONE": 0x1BE,
    **{f"BTN_{n}": 0x100 + n for n in range(10)},
    "BTN_LEFT": 0x110, "BTN_RIGHT": 0x111, "BTN_MIDDLE": 0x112, "BTN_SIDE": 0x113, "BTN_EXTRA": 0x114,
    "BTN_FORWARD": 0x115, "BTN_BACK": 0x116, "BTN_TASK": 0x117,
    "BTN_TRIGGER": 0x120, "BTN_THUMB": 0x121, "BTN_THUMB2": 0x122, "BTN_TOP": 0x123, "BTN_TOP2": 0x124,
    "BTN_PINKIE": 0x125, "BTN_BASE": 0x126, "BTN_BASE2": 0x127, "BTN_BASE3": 0x128, "BTN_BASE4": 0x129,
    "BTN_BASE5": 0x12A, "BTN_BASE6": 0x12B,
}
KEY_MAX = 0x2FF


def key_code(name: str) -> int:
    """The event code of a key name ("KEY_F13", case-insensitive) or number; ValueError naming it otherwise."""
    text = name.strip()
    code = KEY_CODES.get(text.upper())
    if code is not None:
        return code
    try:
        number = int(text, 0)
    except ValueError:
        raise ValueError(f"unknown key {name!r}: use a name such as KEY_F13, KEY_B or BTN_0, "
                         "or the event code as a number (evtest shows it)") from None
    if not 0 < number <= KEY_MAX:
        raise ValueError(f"key code {number} is outside 1..{KEY_MAX}")
    return number
