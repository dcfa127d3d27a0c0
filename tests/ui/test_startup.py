"""Starting with no profile: the console says so and offers the demo instead of failing."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from ui.startup import _choose_profile


def _answer_dialog(button_text: str, seen: list[str]) -> None:
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(0, click)


def test_no_profile_offers_the_demo(qtbot, isolated_dirs):
    seen: list[str] = []
    _answer_dialog("Start demo", seen)
    profile, _path, is_demo = _choose_profile(None, False)
    assert is_demo and profile.position.name == "DEMO-1"
    assert "No position profile is configured" in seen[0]
    assert str(isolated_dirs[0]) in seen[0]  # it says where it looked


def test_broken_profile_shows_its_errors_and_quit_means_quit(qtbot, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[position]\n")
    seen: list[str] = []
    _answer_dialog("Quit", seen)
    assert _choose_profile(str(bad), False) is None
    assert "position.name" in seen[0] and "broken.toml" in seen[0]
