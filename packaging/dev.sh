#!/usr/bin/env bash
# One command to run the console or its tests from a clone, on Debian/Ubuntu. Each does its own set-up:
#   packaging/dev.sh run [ARGS...]     install what the console needs, then start it (demo if no profile)
#   packaging/dev.sh test [PYTEST...]  install what the tests need (system packages too), run the suite
#   packaging/dev.sh setup [run|test]  only the set-up
# System packages are installed with apt-get (as root, or through sudo). The Python packages go into
# .venv/ in the clone; nothing else on the machine is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

# Libraries PySide6 and PortAudio load at run time. "a|b" names one library whose package was renamed
# (Ubuntu 24.04's 64-bit time_t transition): whichever is installed or installable is used.
RUNTIME_PACKAGES=(
  python3-venv libportaudio2 "libglib2.0-0t64|libglib2.0-0" libegl1 libgl1 libfontconfig1 libdbus-1-3
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 fonts-dejavu-core
)
# Real peers the tests talk to: a JACK server (dummy backend), Hamlib's rigctld, signalling decoders,
# socat for serial-over-IP, Xvfb for screenshots, the desktop-file/AppStream validators, NSIS's
# makensis, which compiles the Windows installer script, binutils (objdump, strip) for PyInstaller,
# and what building PyAudio from source needs (it has no Linux wheels).
TEST_PACKAGES=(
  jackd2 libjack-jackd2-0 libhamlib-utils multimon-ng minimodem sox socat xvfb xauth
  desktop-file-utils appstream nsis binutils
  portaudio19-dev python3-dev gcc
)

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing_packages() {
  local entry alt found
  for entry in "$@"; do
    found=""
    for alt in ${entry//|/ }; do is_installed "$alt" && found=1 && break; done
    [ -n "$found" ] || echo "$entry"
  done
}

# The first alternative of "a|b" that apt can install (call after apt-get update).
installable() {
  local alt
  for alt in ${1//|/ }; do
    if apt-cache policy "$alt" 2>/dev/null | grep -q "Candidate: [^(]"; then echo "$alt"; return; fi
  done
  echo "${1%%|*}"  # let apt-get name the problem
}

install_system_packages() {
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "dev.sh: these Debian/Ubuntu packages are needed but apt-get is not here: $missing" >&2
    return 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "dev.sh: run as root or install sudo; needed: $missing" >&2; return 1; }
    sudo="sudo"
  fi
  echo "dev.sh: installing system packages: $missing"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  local entry chosen=()
  for entry in $missing; do chosen+=("$(installable "$entry")"); done
  # jackd2 asks about real-time priority; the default answer (no) is fine for tests.
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${chosen[@]}"
}

python_env() {
  local extras="$1"
  local python=${PYTHON:-python3}
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "dev.sh: Python 3.11 or newer is needed ($python is $("$python" --version 2>&1))" >&2; return 1; }
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  # Reinstall only when the project's dependencies changed.
  local hash stamp
  hash=$(sha256sum pyproject.toml | cut -c1-16)
  stamp=".venv/.installed-$hash-${extras:-base}"
  # A test install also serves the console (it is a superset), so `run` accepts any stamp of this hash.
  if [ -z "$extras" ] && compgen -G ".venv/.installed-$hash-*" >/dev/null; then
    return 0
  fi
  if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    if [ -n "$extras" ]; then
      .venv/bin/python -m pip install -q -e ".[$extras]"
    else
      .venv/bin/python -m pip install -q -e .
    fi
    rm -f .venv/.installed-*
    touch "$stamp"
  fi
}

setup() {
  case "${1:-test}" in
    run) install_system_packages "${RUNTIME_PACKAGES[@]}"; python_env "" ;;
    test) install_system_packages "${RUNTIME_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; python_env "test" ;;
    *) echo "dev.sh: setup run|test" >&2; return 2 ;;
  esac
}

command=${1:-run}
shift || true
case "$command" in
  run)
    setup run
    exec .venv/bin/dispatch-console "$@"
    ;;
  test)
    setup test
    export QT_QPA_PLATFORM=offscreen
    exec .venv/bin/python -m pytest "$@"
    ;;
  setup)
    setup "${1:-test}"
    ;;
  *)
    echo "usage: packaging/dev.sh run [ARGS...] | test [PYTEST ARGS...] | setup [run|test]" >&2
    exit 2
    ;;
esac
