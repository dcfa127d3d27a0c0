"""The Linux packaging files as a position's desktop and udev read them: validated by their standard tools."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
APP_ID = "org.dispatchconsole.DispatchConsole"
DESKTOP = LINUX / f"{APP_ID}.desktop"
METAINFO = LINUX / f"{APP_ID}.metainfo.xml"
RULES = LINUX / "70-dispatch-console.rules"
ICONS = LINUX / "icons" / "hicolor"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], check=False, capture_output=True, text=True, timeout=60,
                          **kwargs)


# --- desktop entry ------------------------------------------------------------------------------------

def desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_file_passes_desktop_file_validate():
    validator = require_peer("desktop-file-validate")
    result = run(validator, DESKTOP)
    # No errors, no warnings, no hints: the validator prints nothing for a clean file.
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_desktop_file_starts_the_console_and_matches_its_window():
    from ui.gui import APP_NAME

    entry = desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "dispatch-console"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    # Qt on X11 sets the window's WM_CLASS to QCoreApplication.applicationName().
    assert entry["StartupWMClass"] == APP_NAME
    # Wayland matches the window's app id (QGuiApplication.desktopFileName) to the desktop entry's id.
    from ui.gui import DESKTOP_ID

    assert DESKTOP_ID == APP_ID
    assert {"Network", "Telephony"} <= set(filter(None, entry["Categories"].split(";")))


# --- AppStream metainfo -------------------------------------------------------------------------------

# The project has no homepage yet. AppStream >= 1.0 warns about that (url-homepage-missing, which 0.16
# does not check); it is the one warning accepted until the metainfo can name a real homepage.
ALLOWED_APPSTREAM_ISSUES = {"url-homepage-missing"}


def appstream(*args: str | Path) -> subprocess.CompletedProcess:
    command, rest = args[0], args[1:]
    return run(require_peer("appstreamcli"), command, "--no-net", "--explain", *rest)


def assert_valid(result: subprocess.CompletedProcess) -> None:
    """No error or warning but the allowed ones (infos and pedantic hints are fine)."""
    report = result.stdout + result.stderr
    issues = re.findall(r"^\s*([EW]): \S+ (\S+)", report, re.MULTILINE)
    assert [issue for issue in issues if issue[1] not in ALLOWED_APPSTREAM_ISSUES] == [], report
    # A failed run must be explained by an allowed issue, not by a crash or a message we cannot read.
    assert result.returncode == 0 or issues, report


def test_metainfo_passes_appstreamcli_validate():
    assert_valid(appstream("validate", METAINFO))


def test_metainfo_names_the_desktop_file_and_the_command():
    text = METAINFO.read_text(encoding="utf-8")
    assert f"<id>{APP_ID}</id>" in text
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in text
    assert "<binary>dispatch-console</binary>" in text
    assert "<project_license>GPL-3.0-or-later</project_license>" in text
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)[1]
    assert f'<release version="{version}"' in text  # the newest release listed is the package's


# --- install.sh ---------------------------------------------------------------------------------------

@pytest.fixture
def one_dir_build(tmp_path) -> Path:
    """Stands in for the PyInstaller output: install.sh only copies it."""
    build = tmp_path / "build" / "dispatch-console"
    (build / "_internal").mkdir(parents=True)
    (build / "_internal" / "base_library.zip").write_bytes(b"stub")
    exe = build / "dispatch-console"
    exe.write_text("#!/bin/sh\necho stub\n")
    exe.chmod(0o755)
    return build


def install(destdir: Path, *options: str | Path) -> subprocess.CompletedProcess:
    return run("bash", LINUX / "install.sh", "--destdir", destdir, *options)


def test_install_sh_stages_every_file_and_uninstall_removes_them(tmp_path, one_dir_build):
    stage = tmp_path / "stage"
    result = install(stage, "--build", one_dir_build, "--autostart")
    assert result.returncode == 0, result.stderr

    share = stage / "usr/local/share"
    expected = [
        share / "applications" / f"{APP_ID}.desktop",
        share / "metainfo" / f"{APP_ID}.metainfo.xml",
        share / "icons/hicolor/scalable/apps" / f"{APP_ID}.svg",
        *(share / f"icons/hicolor/{n}x{n}/apps" / f"{APP_ID}.png" for n in PNG_SIZES),
        stage / "etc/udev/rules.d/70-dispatch-console.rules",
        stage / "etc/xdg/autostart" / f"{APP_ID}.desktop",
        stage / "opt/dispatch-console/dispatch-console",
        stage / "opt/dispatch-console/_internal/base_library.zip",
    ]
    assert [path for path in expected if not path.is_file()] == []
    link = stage / "usr/local/bin/dispatch-console"
    assert link.is_symlink() and str(link.readlink()) == "/opt/dispatch-console/dispatch-console"

    # Upgrade in place: a file dropped from the new build does not linger.
    (one_dir_build / "_internal" / "base_library.zip").unlink()
    (one_dir_build / "_internal" / "new.so").write_bytes(b"new")
    assert install(stage, "--build", one_dir_build).returncode == 0
    assert sorted(p.name for p in (stage / "opt/dispatch-console/_internal").iterdir()) == ["new.so"]

    result = install(stage, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert [path for path in stage.rglob("*") if not path.is_dir()] == []


def test_install_sh_refuses_a_folder_that_is_not_a_build(tmp_path):
    result = install(tmp_path / "stage", "--build", tmp_path)
    assert result.returncode != 0 and "not an executable one-dir build" in result.stderr


def test_installed_tree_passes_appstreamcli_validate_tree(tmp_path, one_dir_build):
    """The metainfo, desktop entry and icons checked together, as a software centre finds them."""
    stage = tmp_path / "stage"
    assert install(stage, "--build", one_dir_build, "--autostart").returncode == 0
    assert_valid(appstream("validate-tree", stage / "usr/local"))
    validator = require_peer("desktop-file-validate")
    autostart = run(validator, stage / "etc/xdg/autostart" / f"{APP_ID}.desktop")
    assert autostart.returncode == 0 and autostart.stdout.strip() == "", autostart.stdout


# --- udev rules ---------------------------------------------------------------------------------------

MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ACTION", "ATTRS", "ENV"}
ASSIGN_KEYS = {"TAG", "ENV"}
TOKEN = re.compile(r'(?P<key>[A-Z]+)(?:\{(?P<attr>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"')
SUBSYSTEMS = {"tty", "hidraw", "input"}


def parse_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """(key, attribute, operator, value) of each token of one rule line; ValueError names the problem."""
    tokens, position = [], 0
    while True:
        match = TOKEN.match(line, position)
        if not match:
            raise ValueError(f"not a udev token at column {position + 1}: {line[position:]!r}")
        key, attr, op, value = match["key"], match["attr"], match["op"], match["value"]
        if op in ("==", "!=") and key not in MATCH_KEYS:
            raise ValueError(f"{key} cannot be matched")
        if op not in ("==", "!=") and key not in ASSIGN_KEYS:
            raise ValueError(f"{key} cannot be assigned")
        tokens.append((key, attr, op, value))
        position = match.end()
        if position == len(line):
            return tokens
        if not line.startswith(", ", position):
            raise ValueError(f"expected ', ' between tokens at column {position + 1}")
        position += 2


def check_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """A rule this file may hold: well-formed, lower-case 4-digit IDs, one of our subsystems, uaccess."""
    tokens = parse_rule(line)
    for key, attr, _op, value in tokens:
        if key == "ATTRS" and attr in ("idVendor", "idProduct") and not re.fullmatch(r"[0-9a-f]{4}", value):
            raise ValueError(f"{attr} {value!r} is not 4 lower-case hex digits")
    subsystems = [value for key, _a, op, value in tokens if key == "SUBSYSTEM" and op == "=="]
    if len(subsystems) != 1 or subsystems[0] not in SUBSYSTEMS:
        raise ValueError(f"a rule matches exactly one of {sorted(SUBSYSTEMS)}, got {subsystems}")
    if subsystems[0] == "input" and ("KERNEL", None, "==", "event*") not in tokens:
        raise ValueError('an input rule matches KERNEL=="event*" (the evdev node, not the inputN parent)')
    if not any(key == "ATTRS" and attr == "idVendor" for key, attr, _o, _v in tokens):
        raise ValueError("a rule matches a USB vendor")
    if ("TAG", None, "+=", "uaccess") not in tokens:
        raise ValueError('a rule has TAG+="uaccess"')
    return tokens


def rule_lines() -> list[tuple[int, str]]:
    return [(number, line) for number, line in enumerate(RULES.read_text().splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def test_udev_rules_every_line_is_a_comment_or_a_uaccess_rule():
    problems = []
    for number, line in rule_lines():
        try:
            check_rule(line)
        except ValueError as err:
            problems.append(f"{RULES.name}:{number}: {err}")
    assert problems == []
    assert len(rule_lines()) > 20


@pytest.mark.parametrize("line, problem", [
    ('SUBSYSTEM=="tty" ATTRS{idVendor}=="0403", TAG+="uaccess"', "expected ', '"),
    ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", TAG="uaccess"', "uaccess"),
    ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001"', "uaccess"),
    ('SUBSYSTEM=="tty", ATTRS{idVendor}=="0403", ATTRS{idProduct}=="EA60", TAG+="uaccess"', "lower-case"),
    ('SUBSYSTEM=="tty", ATTRS{idVendor}=="403", TAG+="uaccess"', "lower-case"),
    ('SUBSYSTEM=="tty", ATTRS{idVendor}="0403", TAG+="uaccess"', "cannot be assigned"),
    ('SUBSYSTEM=="input", ATTRS{idVendor}=="0c45", TAG+="uaccess"', "event*"),
    ('SUBSYSTEM=="usb", ATTRS{idVendor}=="0c45", TAG+="uaccess"', "exactly one"),
])
def test_udev_rule_check_catches_mistakes(line, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        check_rule(line)


def test_udev_rules_cover_the_position_devices():
    covered = set()
    for _number, line in rule_lines():
        tokens = {(key, attr): value for key, attr, _op, value in check_rule(line)}
        covered.add((tokens[("SUBSYSTEM", None)], tokens[("ATTRS", "idVendor")], tokens.get(("ATTRS", "idProduct"))))
    wanted = {
        ("tty", "0403", "6001"), ("tty", "0403", "6015"),  # FTDI
        ("tty", "067b", "2303"), ("tty", "10c4", "ea60"),  # Prolific, Silicon Labs
        ("tty", "1a86", "7523"), ("tty", "1a86", "55d4"),  # WCH CH340, CH9102
        ("tty", "04d8", "00df"),  # MCP2200
        ("input", "0c45", "7403"), ("hidraw", "0c45", "7403"),  # PCsensor footswitch
        ("input", "05f3", "00ff"),  # VEC Infinity pedal
        ("hidraw", "0b0e", None), ("input", "047f", None), ("hidraw", "1395", None),  # headsets
    }
    assert wanted - covered == set()


def test_udev_rules_sort_before_seat_late():
    """73-seat-late.rules acts on the uaccess tag; a rule file sorting after it tags too late."""
    assert RULES.name < "73-seat-late.rules"


def test_udev_rules_pass_udevadm_verify():
    udevadm = shutil.which("udevadm")
    if udevadm is None or run(udevadm, "verify", "--help").returncode != 0:
        pytest.skip("udevadm verify needs systemd 254 or newer")
    result = run(udevadm, "verify", "--resolve-names=never", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


# --- icons --------------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_icons_are_the_app_svg_and_every_png_size():
    assert (ICONS / "scalable/apps" / f"{APP_ID}.svg").read_bytes() == (
        ROOT / "assets/icons/dispatch-console.svg").read_bytes()
    for size in PNG_SIZES:
        assert png_size(ICONS / f"{size}x{size}/apps" / f"{APP_ID}.png") == (size, size)


def test_png_icons_are_up_to_date_with_the_svg(qapp):
    """Rendered again from the SVG, the committed PNGs look the same (re-run render_icons.py if not)."""
    from PySide6.QtGui import QImage
    from PySide6.QtSvg import QSvgRenderer

    spec = importlib.util.spec_from_file_location("render_icons", LINUX / "render_icons.py")
    render_icons = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_icons)
    renderer = QSvgRenderer(str(ROOT / "assets/icons/dispatch-console.svg"))
    for size in (16, 64):
        fresh = QImage.fromData(render_icons.render_png(renderer, size), "PNG")
        committed = QImage(str(ICONS / f"{size}x{size}/apps" / f"{APP_ID}.png"))
        total = 0
        for y in range(size):
            for x in range(size):
                a, b = fresh.pixelColor(x, y), committed.pixelColor(x, y)
                total += sum(abs(p - q) for p, q in zip(a.getRgb(), b.getRgb()))
        assert total / (size * size * 4) < 3, f"{size}x{size} PNG differs from the SVG"
        assert committed.pixelColor(0, 0).alpha() == 0  # rounded corner: transparent
        assert committed.pixelColor(size // 2, size // 2).alpha() == 255
