"""The PyInstaller one-folder build (packaging/pyinstaller/) behaves as the installed package.

Builds the bundle once per session (about half a minute), then runs its ``dispatch-console`` the way a
technician would: --version, config check, ali parse, and the GUI on the demo position (offscreen).
Every run starts outside the source tree, with no PYTHONPATH, so only the bundle can answer.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.ali.samples import decode_sample_file
from app.config import load_demo_profile, storage_path
from app.store import StoreError, tail_events
from tests.conftest import IN_CI, require_peer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "pyinstaller" / "dispatch-console.spec"
SAMPLES = ROOT / "tests" / "data" / "ali-samples"
EXE_SUFFIX = ".exe" if sys.platform == "win32" else ""
# PyInstaller 6 puts everything but the executables in this folder of the one-dir bundle.
CONTENTS = "_internal"
# Well above the ~180 MiB it measures; crossing it means something big came in (see the spec's exclusions).
MAX_BUNDLE_MIB = 240
RUN_TIMEOUT_S = 60


@dataclass(frozen=True)
class Bundle:
    folder: Path
    build_s: float

    @property
    def exe(self) -> Path:
        return self.folder / f"dispatch-console{EXE_SUFFIX}"

    @property
    def assets(self) -> Path:
        return self.folder / CONTENTS / "assets"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Bundle:
    if importlib.util.find_spec("PyInstaller") is None:
        message = "PyInstaller is not installed (it is in the test extra: pip install -e .[test])"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if sys.platform.startswith("linux"):
        require_peer("objdump")
    base = tmp_path_factory.mktemp("pyinstaller")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level=WARN",
         "--distpath", str(base / "dist"), "--workpath", str(base / "work"), str(SPEC)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"PyInstaller failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    built = Bundle(base / "dist" / "dispatch-console", time.monotonic() - started)
    assert built.exe.is_file(), f"no executable at {built.exe}"
    return built


def frozen_env(**extra: str) -> dict[str, str]:
    """This test's environment (its own config and data folders) without anything that would let a
    Python outside the bundle answer."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra)
    return env


def run_frozen(bundle: Bundle, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bundle.exe), *args], cwd=cwd, env=frozen_env(), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def run_installed(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command from the installed package (the reference the bundle must match)."""
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def shipped_assets() -> set[str]:
    """What an install ships from assets/: pyproject's package-data patterns, relative paths."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["assets"]
    package = ROOT / "assets"
    return {path.relative_to(package).as_posix() for pattern in patterns for path in package.glob(pattern)}


# --- the bundle itself ----------------------------------------------------------------------------


def test_bundle_holds_exactly_the_shipped_assets(bundle):
    bundled = {path.relative_to(bundle.assets).as_posix() for path in bundle.assets.rglob("*")
               if path.is_file() and path.suffix not in (".py", ".pyc")}
    assert bundled == shipped_assets()


def test_bundle_is_lean(bundle):
    # PyInstaller links some libraries into _internal/ as well; count each file once.
    files = [path for path in bundle.folder.rglob("*") if path.is_file() and not path.is_symlink()]
    names = {path.relative_to(bundle.folder).as_posix() for path in files}
    size_mib = sum(path.stat().st_size for path in files) / 2**20
    print(f"\nfrozen build: {size_mib:.0f} MiB in {len(files)} files, built in {bundle.build_s:.0f} s")

    def present(fragment: str) -> list[str]:
        return sorted(name for name in names if fragment in name)

    for module in ("Network", "Qml", "Quick", "Sql", "Test", "Pdf", "Designer", "PrintSupport", "Multimedia"):
        for fragment in (f"PySide6/Qt{module}.", f"libQt6{module}."):
            assert not present(fragment), f"Qt{module} is not used, yet in the bundle: {present(fragment)}"
    # Qt's translations, plugins the spec leaves out, and tools that sit in the build venv.
    for fragment in ("Qt/translations/", "libqgtk3", "qtuiotouch", "libqeglfs", "libqvnc", "tkinter", "PyInstaller/",
                     "pytest", "hypothesis"):
        assert not present(fragment), f"{fragment} should not be in the bundle: {present(fragment)[:5]}"
    assert size_mib < MAX_BUNDLE_MIB, f"the bundle grew to {size_mib:.0f} MiB"


# --- headless commands ----------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata(bundle, tmp_path):
    result = run_frozen(bundle, "--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    installed = importlib.metadata.version("dispatch-console")
    assert result.stdout.strip() == f"dispatch-console {installed}"
    assert "+source" not in result.stdout  # the fallback when no metadata is found


def test_config_check_passes_the_bundled_demo_profile(bundle, tmp_path):
    demo = bundle.assets / "profiles" / "demo.toml"
    result = run_frozen(bundle, "config", "check", str(demo), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: {demo}")


def test_config_check_names_the_bad_field_as_the_installed_console_does(bundle, tmp_path):
    demo = (ROOT / "assets" / "profiles" / "demo.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(demo.replace('name = "DEMO-1"', "name = 42", 1), encoding="utf-8")
    frozen = run_frozen(bundle, "config", "check", str(bad), cwd=tmp_path)
    installed = run_installed("config", "check", str(bad))
    assert frozen.returncode == installed.returncode == 2
    assert "position.name" in frozen.stderr
    assert frozen.stderr == installed.stderr


def test_ali_parse_prints_what_the_installed_console_prints(bundle, tmp_path):
    # Two spills back to back: a business line whose check byte is valid, then a wireless phase II call.
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"".join(
        decode_sample_file((SAMPLES / name).read_text(encoding="utf-8"))
        for name in ("capture-busn-school-RECONSTRUCTED-bcc-valid.txt", "capture-wph2-tmobile.txt")))
    frozen = run_frozen(bundle, "ali", "parse", str(capture), cwd=tmp_path)
    installed = run_installed("ali", "parse", str(capture))
    assert frozen.returncode == installed.returncode == 0, frozen.stderr
    assert frozen.stdout == installed.stdout
    frames = [json.loads(line) for line in frozen.stdout.splitlines()]
    assert len(frames) == 2
    first = frames[0]
    assert (first["kind"], first["bcc_ok"]) == ("ali", True)
    assert first["record"]["ani"] == "7194958181"
    assert first["record"]["class_of_service"] == "BUSN"
    assert frames[1]["record"]["class_of_service"] == "WPH2"


# --- the GUI ----------------------------------------------------------------------------------------


def logged_kinds(store: Path) -> list[tuple[str, str]]:
    """(kind, detail) of every event so far; empty while the console has not made its store yet."""
    try:
        return [(row.kind, row.detail) for row in tail_events(store, 1000)]
    except (StoreError, sqlite3.Error):
        return []


def wait_for_event(proc: subprocess.Popen, stderr: Path, store: Path, kind: str) -> list[tuple[str, str]]:
    """Polls the position's store until ``kind`` is logged; fails if the console exits or time runs out."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        events = logged_kinds(store)
        if any(event == kind for event, _ in events):
            return events
        try:
            code = proc.wait(timeout=0.2)  # the pause between polls, and notice of an early exit
        except subprocess.TimeoutExpired:
            code = None
        if code is not None:
            pytest.fail(f"the frozen console exited ({code}) before logging {kind}:\n{stderr.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {kind} within {RUN_TIMEOUT_S} s; events so far: {events}")


def terminate(proc: subprocess.Popen) -> int:
    """SIGTERM, as a session manager sends it, once: the console's fail-safe unkeys and quits
    (ui/startup.py queues the quit, so a signal that comes before the event loop runs is kept)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    pytest.fail(f"the frozen console did not quit on SIGTERM within {RUN_TIMEOUT_S} s")


def test_gui_starts_the_demo_position_offscreen(bundle, tmp_path):
    store = storage_path(load_demo_profile())  # in this test's data folder (conftest), as the bundle sees it
    stderr = tmp_path / "stderr.txt"  # a file, not a pipe: the console logs to stderr and must never block on it
    with stderr.open("w") as stderr_file:
        proc = subprocess.Popen([str(bundle.exe), "--demo"], cwd=tmp_path, env=frozen_env(QT_QPA_PLATFORM="offscreen"),
                                stdout=subprocess.DEVNULL, stderr=stderr_file)
    try:
        # position.start is logged after the main window is built (ui/gui.py), so every view has loaded.
        events = wait_for_event(proc, stderr, store, "position.start")
        # The demo profile, and the directory it names, were found through importlib.resources in the bundle.
        directory = [detail for kind, detail in events if kind == "directory.load"]
        assert directory, events
        assert Path(directory[0].split(": ")[0]).resolve().is_relative_to(bundle.assets.resolve()), directory[0]
        if sys.platform == "win32":
            return  # no SIGTERM to send there; the finally ends it
        code = terminate(proc)
        log = stderr.read_text()
        assert code == 0, log[-4000:]
        assert "Traceback" not in log, log[-4000:]
        assert "position.stop" in [kind for kind, _ in logged_kinds(store)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
