"""The Windows installer script, compiled for real by makensis around a stand-in for the one-dir build."""

from __future__ import annotations

import re
import struct
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]
WINDOWS = ROOT / "packaging" / "windows"
SCRIPT = WINDOWS / "dispatch-console.nsi"
ICO = WINDOWS / "dispatch-console.ico"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture
def one_dir_build(tmp_path) -> Path:
    """Stands in for dist/dispatch-console/ from the PyInstaller spec: the installer only packs files."""
    build = tmp_path / "dist" / "dispatch-console"
    (build / "_internal" / "PySide6").mkdir(parents=True)
    (build / "dispatch-console.exe").write_bytes(b"MZ console stub MARKER-CONSOLE-EXE")
    (build / "dispatch-console-gui.exe").write_bytes(b"MZ windowed stub MARKER-GUI-EXE")
    (build / "_internal" / "PySide6" / "Qt6Core.dll").write_bytes(b"MARKER-NESTED-DLL")
    return build


def makensis(build: Path, outfile: Path, *defines: str) -> subprocess.CompletedProcess:
    # -WX: a warning fails the build, so the script stays warning-free.
    command = [require_peer("makensis"), "-V2", "-WX", f"-DBUILD_DIR={build}", f"-DOUTFILE={outfile}",
               f"-DVERSION={VERSION}", *(f"-D{define}" for define in defines), str(SCRIPT)]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)


def test_installer_compiles_to_a_windows_program(tmp_path, one_dir_build):
    outfile = tmp_path / "dispatch-console-installer.exe"
    result = makensis(one_dir_build, outfile)
    assert result.returncode == 0, result.stdout + result.stderr
    data = outfile.read_bytes()
    assert data[:2] == b"MZ"
    pe_offset = struct.unpack_from("<I", data, 0x3C)[0]
    assert data[pe_offset:pe_offset + 4] == b"PE\0\0"


def test_installer_packs_every_file_of_the_build(tmp_path, one_dir_build):
    """Stored uncompressed, the build's files can be seen inside the installer."""
    outfile = tmp_path / "dispatch-console-installer.exe"
    result = makensis(one_dir_build, outfile, "UNCOMPRESSED")
    assert result.returncode == 0, result.stdout + result.stderr
    data = outfile.read_bytes()
    for marker in (b"MARKER-CONSOLE-EXE", b"MARKER-GUI-EXE", b"MARKER-NESTED-DLL"):
        assert marker in data


@pytest.mark.parametrize("missing, message", [
    ("dispatch-console.exe", "No dispatch-console.exe in"),
    ("dispatch-console-gui.exe", "No dispatch-console-gui.exe in"),
])
def test_a_missing_build_is_a_clear_error(tmp_path, one_dir_build, missing, message):
    (one_dir_build / missing).unlink()
    outfile = tmp_path / "dispatch-console-installer.exe"
    result = makensis(one_dir_build, outfile)
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert not outfile.exists()


def script_code() -> list[str]:
    """The script's instructions, without comments."""
    lines = []
    for line in SCRIPT.read_text(encoding="utf-8").splitlines():
        code = line.strip()
        if code and not code.startswith((";", "#")):
            lines.append(code)
    return lines


def test_upgrade_and_uninstall_never_touch_user_data():
    """Profiles, settings and databases live in each user's %LOCALAPPDATA%\\dispatch-console
    (app/config/paths.py); the installer writes and removes only its own files."""
    code = script_code()
    for line in code:
        assert not re.search(r"\$(LOCALAPPDATA|APPDATA|PROFILE|DOCUMENTS)", line, re.IGNORECASE), line
        assert "HKCU" not in line, line
    recursive_removals = [line for line in code if line.startswith("RMDir /r")]
    assert recursive_removals == ['RMDir /r "$INSTDIR\\${CONTENTS}"']
    assert 'RMDir "$INSTDIR"' in code  # the install folder itself only when empty


def test_installer_is_per_machine_and_registered_for_removal():
    code = "\n".join(script_code())
    assert "RequestExecutionLevel admin" in code
    assert 'InstallDir "$PROGRAMFILES64\\${APP_NAME}"' in code
    assert code.count("SetShellVarContext all") >= 3  # install, start at login, uninstall: all users
    for value in ("DisplayName", "DisplayVersion", "UninstallString", "InstallLocation"):
        assert f'WriteRegStr HKLM "${{UNINST_KEY}}" "{value}"' in code
    assert re.search(r'^!define UNINST_KEY "Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\', code,
                     re.MULTILINE)


def test_default_version_is_the_package_version():
    assert f'!define VERSION "{VERSION}"' in SCRIPT.read_text(encoding="utf-8")


def test_icon_holds_png_images_of_every_size():
    data = ICO.read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for index in range(count):
        entry = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        width, height, length, offset = entry[0], entry[1], entry[6], entry[7]
        assert data[offset:offset + 8] == b"\x89PNG\r\n\x1a\n"
        assert offset + length <= len(data)
        png_width, png_height = struct.unpack(">II", data[offset + 16:offset + 24])
        assert (png_width, png_height) == (width or 256, height or 256)
        sizes.append(png_width)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]
