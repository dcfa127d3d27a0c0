"""The sample notation of shared/reference/ali-samples: bytes <-> text with <STX>-style tokens (pure).

``render`` writes any bytes in that notation (how a parsed frame's ``raw`` is shown) and
``decode_tokens`` turns it back into the same bytes, so nothing is lost in the round trip.
``unrender`` does the same for text a technician pastes (it may be broken onto lines for reading).
"""

from __future__ import annotations

import re

_NAMED = {"STX": 0x02, "ETX": 0x03, "ACK": 0x06, "LF": 0x0A, "CR": 0x0D, "NAK": 0x15, "DEL": 0x7F}
_NAME_OF = {value: f"<{name}>" for name, value in _NAMED.items()}
_TOKEN = re.compile(r"<(STX|ETX|ACK|LF|CR|NAK|DEL|0x[0-9A-Fa-f]{2}|BCC=0x[0-9A-Fa-f]{2})>")
_TOKEN_BYTES = re.compile(_TOKEN.pattern.encode("ascii"))


def _token_byte(token: str) -> int:
    if token in _NAMED:
        return _NAMED[token]
    return int(token[-2:], 16)  # "0xNN" or "BCC=0xNN"


def decode_tokens(text: str) -> bytes:
    """Tokens replaced by their bytes; every other character is one byte (Latin-1). Newlines are kept."""
    out = bytearray()
    pos = 0
    for match in _TOKEN.finditer(text):
        out += text[pos:match.start()].encode("latin-1")
        out.append(_token_byte(match.group(1)))
        pos = match.end()
    out += text[pos:].encode("latin-1")
    return bytes(out)


def decode_sample_file(text: str) -> bytes:
    """A sample file back into bytes: '#' lines dropped, the file's own newlines dropped, tokens replaced."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return decode_tokens("".join(lines))


def render(data: bytes, bcc_at: int | None = None) -> str:
    """Bytes in sample notation. Byte ``bcc_at`` (the check byte after ETX) is written <BCC=0xNN>.

    Printable ASCII stays literal (``<b>`` stays ``<b>``); a '<' is written <0x3C> only where the
    data itself spells a token, so that ``decode_tokens(render(b)) == b`` always holds.
    """
    return "".join(render_pieces(data, bcc_at))


def render_pieces(data: bytes, bcc_at: int | None = None) -> list[str]:
    """``render`` one byte at a time: piece i is how byte i is written (for mapping text back to bytes)."""
    parts: list[str] = []
    for index, byte in enumerate(data):
        if index == bcc_at:
            parts.append(f"<BCC=0x{byte:02X}>")
        elif byte == 0x3C and _TOKEN_BYTES.match(data, index):
            parts.append("<0x3C>")
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(_NAME_OF.get(byte, f"<0x{byte:02X}>"))
    return parts


_LINE_END_TOKEN = re.compile(r"<(?:CR|LF|0x0[AaDd])>")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_NOT_LATIN1 = re.compile(r"[^\x00-\xff]")


def unrender(text: str) -> bytes:
    """Pasted spill text back into bytes: the inverse of ``render``, lenient about line breaks.

    Text that writes its line ends as <CR>/<LF> tokens (``render`` output, the event log, a sample
    file's lines) may be broken onto lines for reading; those real newlines are not data. Text without
    such tokens (a spill copied as plain lines) keeps each real newline as an LF byte.
    Raises ValueError naming the first character that is not a single byte (Latin-1).
    """
    bad = _NOT_LATIN1.search(text)
    if bad is not None:
        before = text[:bad.start()]
        line = before.count("\n") + 1
        column = bad.start() - (before.rfind("\n") + 1) + 1
        raise ValueError(f"character {bad.group()!r} (U+{ord(bad.group()):04X}) at line {line} column {column} "
                         "is not a single byte; a spill is Latin-1 text")
    if _LINE_END_TOKEN.search(text):
        text = _NEWLINES.sub("", text)
    return decode_tokens(text)
