"""The TTY (TDD) conversation of one call: what the caller typed and what the call-taker sent (pure; no Qt).

Characters arrive as the DSP worker decodes them from the phone line (app/audio/dsp_worker.py); a
caller's turn ends when their carrier drops. Each finished turn and each reply is stored with the call
(``tty.rx`` / ``tty.tx`` call events) by the calls service.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

CALLER, CALLTAKER = "caller", "calltaker"
MAX_LINE = 2000  # characters in one turn: a stuck carrier on noise must not grow a line forever


@dataclass(frozen=True, slots=True)
class TtyLine:
    who: str  # CALLER or CALLTAKER
    text: str
    wall: float  # when the turn started
    open: bool = False  # the caller is still typing it


@dataclass(frozen=True, slots=True)
class TtyView:
    detected: bool = False  # Baudot tones were heard during the call
    receiving: bool = False  # the caller's carrier is up
    lines: tuple[TtyLine, ...] = ()

    @property
    def transcript(self) -> str:
        return "\n".join(f"{'CALLER' if ln.who == CALLER else 'YOU'}: {ln.text}" for ln in self.lines)


class TtyConversation:
    def __init__(self) -> None:
        self.detected = False
        self.receiving = False
        self._lines: list[TtyLine] = []
        self._view: TtyView | None = None

    def carrier(self, on: bool) -> str | None:
        """The caller's carrier rose or dropped; on a drop, the text of the turn it ended (None if empty)."""
        self._view = None
        self.receiving = on
        if on:
            self.detected = True
            return None
        return self._close()

    def char(self, text: str) -> None:
        """Decoded character(s) from the caller."""
        self.detected = True
        self._view = None
        last = self._lines[-1] if self._lines else None
        if last is not None and last.who == CALLER and last.open:
            if len(last.text) < MAX_LINE:
                self._lines[-1] = TtyLine(CALLER, last.text + text, last.wall, True)
        else:
            self._lines.append(TtyLine(CALLER, text, time.time(), True))

    def typed(self, text: str) -> None:
        """A reply the call-taker sent."""
        self._view = None
        self._lines.append(TtyLine(CALLTAKER, text, time.time()))

    def view(self) -> TtyView:
        if self._view is None:
            self._view = TtyView(self.detected, self.receiving, tuple(self._lines))
        return self._view

    def _close(self) -> str | None:
        last = self._lines[-1] if self._lines else None
        if last is None or last.who != CALLER or not last.open:
            return None
        self._lines[-1] = TtyLine(CALLER, last.text, last.wall, False)
        return last.text
