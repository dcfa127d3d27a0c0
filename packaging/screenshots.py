"""Render the README's screenshots of each role view from the running demo (offscreen, no display needed).

    .venv/bin/python packaging/screenshots.py [OUTPUT_DIR]    (default: assets/screenshots)

The demo position runs for real: a call is rung and answered so the Call-taker view shows a spill,
a channel is selected and keyed so the Dispatcher view shows transmit and receive.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
scratch = tempfile.mkdtemp(prefix="dc-shots-")
os.environ["DISPATCH_CONSOLE_DATA_DIR"] = scratch
os.environ["DISPATCH_CONSOLE_CONFIG_DIR"] = scratch

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.config import load_demo_profile  # noqa: E402
from app.position import Position  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.theme import apply_theme  # noqa: E402


def pump(app: QApplication, seconds: float, until=lambda: False) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "assets/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication([])
    apply_theme(app, "night")
    position = Position(load_demo_profile(), demo=True)
    window = MainWindow(position, QSettings(str(Path(scratch) / "ui.ini"), QSettings.Format.IniFormat))
    window.resize(1440, 900)
    window.show()
    position.start()
    pump(app, 1.0)
    position.driver("fire-tac2").inject_burst(30, "1207")
    position.driver("ems-1").inject_burst(30, "2231")
    position.select_channel("fire-disp", True)
    position.select_channel("pd-north", False)
    position.ptt("console", True)
    position.driver("phone").ring(2)
    pump(app, 1.0)
    window.show_role("dispatcher")
    pump(app, 0.3)
    window.grab().save(str(out / "dispatcher.png"))
    position.ptt("console", False)
    position.answer_call()
    position.driver("phone").ring(0)
    pump(app, 3.0, until=lambda: bool(position.calls.active and position.calls.active.spills))
    pump(app, 0.5)
    window.show_role("calltaker")
    pump(app, 0.3)
    window.grab().save(str(out / "calltaker.png"))
    window.show_role("technician")
    window.technician.tabs.setCurrentWidget(window.technician.audio)  # the AUDIO tab: live meters
    pump(app, 0.3)
    window.grab().save(str(out / "technician.png"))
    position.stop()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
