"""Storage: the SQLite event log and raw spills, written in order by one thread, durable before shown.

Pure Python (sqlite3, threading, queue); no Qt. ``StoreWriter`` writes; the reader functions
open their own read-only connections and are safe while a writer runs.
"""

from .errors import StoreError
from .reader import EventRow, RawSpillRow, events_since, format_event, raw_spills, tail_events
from .schema import SCHEMA_VERSION, migrate
from .writer import StoreWriter

__all__ = [
    "SCHEMA_VERSION",
    "EventRow",
    "RawSpillRow",
    "StoreError",
    "StoreWriter",
    "events_since",
    "format_event",
    "migrate",
    "raw_spills",
    "tail_events",
]
