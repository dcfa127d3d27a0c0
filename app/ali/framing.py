"""STX ... ETX [BCC] framing of an ALI spill stream (pure; no Qt, no I/O).

Feed bytes as they arrive, in any split; get back whole frames and any bytes that were not inside a
frame. Nothing is dropped: every byte fed comes out again, either in a ``Frame.raw`` or in a
``Garbage.data``, in order. With ``bcc=True`` exactly one byte after ETX is the block check (it may be
any value, even STX), which is the XOR of every byte after STX up to and including ETX.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x02
ETX = 0x03


@dataclass(frozen=True, slots=True)
class Frame:
    raw: bytes  # STX .. ETX [BCC], exactly as received
    payload: bytes  # between STX and ETX
    bcc: int | None  # the received check byte, None when the link has none
    bcc_ok: bool | None  # None when the link has no check byte

    @property
    def kind(self) -> str:
        """'heartbeat', 'status' (E-codes such as E130) or 'ali'."""
        text = self.payload.strip()
        if text == b"H":
            return "heartbeat"
        if len(text) <= 8 and text[:1] == b"E" and text[1:].isdigit():
            return "status"
        return "ali"


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes outside any frame (line noise, a frame cut short by a new STX), kept for the record."""

    data: bytes
    reason: str


def block_check(payload_and_etx: bytes) -> int:
    value = 0
    for byte in payload_and_etx:
        value ^= byte
    return value


class Framer:
    """Incremental framer. ``feed`` returns the frames and garbage completed by these bytes."""

    def __init__(self, bcc: bool = True, max_frame: int = 8192) -> None:
        self.bcc = bcc
        self.max_frame = max_frame  # a frame longer than this is noise, not a spill
        self._buf = bytearray()  # bytes of the frame being assembled, from its STX
        self._noise = bytearray()  # bytes seen outside a frame, not yet reported
        self._awaiting_bcc = False

    @property
    def pending(self) -> bytes:
        """Bytes held back waiting for the rest of a frame."""
        return bytes(self._noise + self._buf)

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        out: list[Frame | Garbage] = []
        for byte in data:
            if self._awaiting_bcc:
                self._finish(out, byte)
            elif not self._buf:
                if byte == STX:
                    self._flush_noise(out, "bytes outside a frame")
                    self._buf.append(byte)
                else:
                    self._noise.append(byte)
            elif byte == STX:
                # A new frame starts before the last one ended: the partial one is kept as garbage.
                out.append(Garbage(bytes(self._buf), "frame cut short by a new STX"))
                self._buf = bytearray([STX])
            else:
                self._buf.append(byte)
                if byte == ETX:
                    if self.bcc:
                        self._awaiting_bcc = True
                    else:
                        self._finish(out, None)
                elif len(self._buf) > self.max_frame:
                    out.append(Garbage(bytes(self._buf), f"no ETX within {self.max_frame} bytes"))
                    self._buf = bytearray()
        return out

    def flush(self) -> list[Frame | Garbage]:
        """The link went down: hand back whatever is held, as garbage (a frame cut off mid-way)."""
        out: list[Frame | Garbage] = []
        self._flush_noise(out, "bytes outside a frame")
        if self._buf:
            out.append(Garbage(bytes(self._buf), "link lost mid-frame"))
        self._buf = bytearray()
        self._awaiting_bcc = False
        return out

    def _flush_noise(self, out: list[Frame | Garbage], reason: str) -> None:
        if self._noise:
            out.append(Garbage(bytes(self._noise), reason))
            self._noise = bytearray()

    def _finish(self, out: list[Frame | Garbage], check: int | None) -> None:
        body = bytes(self._buf)  # STX .. ETX
        payload = body[1:-1]
        if check is None:
            out.append(Frame(body, payload, None, None))
        else:
            ok = block_check(body[1:]) == check
            out.append(Frame(body + bytes([check]), payload, check, ok))
        self._buf = bytearray()
        self._awaiting_bcc = False


_TOKENS = {0x02: "<STX>", 0x03: "<ETX>", 0x06: "<ACK>", 0x15: "<NAK>", 0x7F: "<DEL>"}


def printable(data: bytes) -> str:
    """Bytes as text a person can read: CR/LF become line breaks, other control bytes <0xNN> tokens.

    The result is still untrusted outside text and must be shown as plain text.
    """
    text = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    parts: list[str] = []
    for byte in text:
        if byte == 0x0A or 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(_TOKENS.get(byte, f"<0x{byte:02X}>"))
    return "".join(parts)
