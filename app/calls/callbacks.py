"""The callback list: every 9-1-1 hang-up and abandoned call must be called back (pure; no Qt).

An item opens when a call is abandoned or released as a hang-up. Each callback attempt records an
outcome, who and when. "No answer" is an attempt that leaves the item open (the centres try again
or send a unit); "reached", "voicemail" and "sent unit" close it. Items are rows in the store's
``call_events``, so open items survive a restart: ``load`` rebuilds the list from them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.snapshots import CallbackAttempt, CallbackView
from app.store.reader import reading
from app.store.schema import CALL_EVENTS_SCHEMA, schema_version

OUTCOMES = {  # outcome -> (label, closes the item)
    "reached": ("Reached", True),
    "no_answer": ("No answer", False),
    "voicemail": ("Voicemail", True),
    "sent_unit": ("Sent unit", True),
}
KEEP_CLOSED_S = 12 * 3600  # closed items stay listed (greyed) for one shift
MAX_CLOSED = 50


@dataclass
class _Item:
    call_uid: str
    number: str
    reason: str
    opened_wall: float
    line: str = ""
    location: str = ""
    attempts: list[CallbackAttempt] = field(default_factory=list)
    closed_wall: float | None = None

    def view(self) -> CallbackView:
        return CallbackView(self.call_uid, self.number, self.reason, self.opened_wall, self.line,
                            self.location, tuple(self.attempts), self.closed_wall is not None)


class CallbackBook:
    def __init__(self) -> None:
        self._items: dict[str, _Item] = {}

    def open(self, call_uid: str, number: str, reason: str, *, line: str = "", location: str = "",
             wall: float | None = None) -> bool:
        """Open an item for a call; False if the call already has one."""
        if call_uid in self._items:
            return False
        self._items[call_uid] = _Item(call_uid, number, reason, wall if wall is not None else time.time(),
                                      line, location)
        return True

    def update_location(self, call_uid: str, number: str, location: str) -> None:
        item = self._items.get(call_uid)
        if item is not None:
            item.number = number or item.number
            item.location = location or item.location

    def record(self, call_uid: str, outcome: str, who: str, note: str = "", *, wall: float | None = None) -> bool:
        """Record one attempt; False if there is no open item for the call or the outcome is unknown."""
        item = self._items.get(call_uid)
        if item is None or item.closed_wall is not None or outcome not in OUTCOMES:
            return False
        wall = wall if wall is not None else time.time()
        item.attempts.append(CallbackAttempt(wall, outcome, who, note))
        if OUTCOMES[outcome][1]:
            item.closed_wall = wall
        return True

    def is_open(self, call_uid: str) -> bool:
        item = self._items.get(call_uid)
        return item is not None and item.closed_wall is None

    def views(self, now_wall: float | None = None) -> tuple[CallbackView, ...]:
        """Open items oldest first (the longest waiting on top), then recently closed, newest first."""
        now_wall = now_wall if now_wall is not None else time.time()
        open_items = sorted((i for i in self._items.values() if i.closed_wall is None), key=lambda i: i.opened_wall)
        closed = sorted((i for i in self._items.values()
                         if i.closed_wall is not None and now_wall - i.closed_wall < KEEP_CLOSED_S),
                        key=lambda i: -(i.closed_wall or 0))[:MAX_CLOSED]
        self._forget_old(now_wall)
        return tuple(i.view() for i in open_items + closed)

    def _forget_old(self, now_wall: float) -> None:
        for uid in [u for u, i in self._items.items()
                    if i.closed_wall is not None and now_wall - i.closed_wall >= KEEP_CLOSED_S]:
            del self._items[uid]

    def load(self, db_path: str | Path) -> int:
        """Rebuild the list from the store (open items of any age, closed ones of the last shift).

        Returns how many open items were found. A store without call events yet gives none; a store
        that cannot be read raises StoreError naming it.
        """
        with reading(db_path) as conn:
            if conn is None or schema_version(conn) < CALL_EVENTS_SCHEMA:
                return 0
            rows = conn.execute(
                "SELECT wall, call_uid, kind, line, detail FROM call_events"
                " WHERE kind IN ('callback_open', 'callback_outcome') ORDER BY id").fetchall()
        for wall, uid, kind, line, detail_text in rows:
            try:
                detail = json.loads(detail_text)
            except ValueError:
                continue  # written by this program as JSON; a bad row cannot come from here
            if kind == "callback_open":
                self.open(uid, str(detail.get("number", "")), str(detail.get("reason", "")), line=line,
                          location=str(detail.get("location", "")), wall=wall)
            else:
                self.record(uid, str(detail.get("outcome", "")), str(detail.get("who", "")),
                            str(detail.get("note", "")), wall=wall)
        self._forget_old(time.time())
        return sum(1 for i in self._items.values() if i.closed_wall is None)
