"""The layer rules of ARCHITECTURE.md, checked as code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Imports every module of the given packages and reports which of the watched modules got loaded.
_PROBE = r"""
import importlib, json, pkgutil, sys
watched = {watched!r}
for name in {packages!r}:
    pkg = importlib.import_module(name)
    for info in pkgutil.walk_packages(pkg.__path__, name + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(m for m in sys.modules if m in watched or m.split(".")[0] in watched)))
"""


def _loaded_by(packages: list[str], watched: list[str]) -> list[str]:
    code = _PROBE.format(packages=packages, watched=watched)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail("lint-imports is not installed: install the test extra (packaging/dev.sh test)")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "broken" not in out.stdout.split("Contracts:")[-1].replace("0 broken", "")


def test_app_and_hardware_load_no_device_library():
    """Device libraries are imported lazily, inside the driver that needs them."""
    loaded = _loaded_by(["app", "hardware"], ["sounddevice", "rtmidi", "pyaudio", "serial", "_sounddevice"])
    assert loaded == []


def test_app_loads_no_qt_widgets_or_gui():
    loaded = _loaded_by(["app"], ["PySide6.QtWidgets", "PySide6.QtGui"])
    assert loaded == []


def test_hardware_and_pure_modules_load_no_qt():
    assert _loaded_by(["hardware", "app.ali", "app.dsp"], ["PySide6", "shiboken6"]) == []


def test_headless_commands_load_no_qt_widgets(tmp_path):
    code = (
        "import sys, io, contextlib\n"
        "from ui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['config', 'check', 'assets/profiles/demo.toml'])\n"
        "    main(['log', 'tail', '--demo'])\n"
        "    main(['stats', '--demo'])\n"
        f"    main(['tone', 'trc', '--hold', '0.1', '-o', {str(tmp_path / 'tone.wav')!r}])\n"
        "print('PySide6.QtWidgets' in sys.modules, 'PySide6.QtGui' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False False"
    assert (tmp_path / "tone.wav").stat().st_size > 44  # the tone command really ran
