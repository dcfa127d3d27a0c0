"""The Qt binding must not leak references: a console runs for 12-hour shifts.

PySide6-Essentials 6.12.0 on Python 3.11 drops one reference to None on every Qt call that returns
nothing; after a few thousand calls (minutes of a running GUI) CPython aborts with
"none_dealloc". pyproject.toml excludes that release; this test fails if any installed binding leaks.
"""

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_do_not_leak_none():
    obj = QObject()
    obj.setObjectName("warm-up")
    before = sys.getrefcount(None)
    for _ in range(200):
        obj.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    assert lost < 20, f"the Qt binding lost {lost} references to None in 200 calls"
