#!/usr/bin/env bash
# Install Dispatch Console on a Linux position: the program (a PyInstaller one-dir build, or one already
# installed with pip/pipx), its menu entry, AppStream metadata, icons, device permissions and, if asked,
# a start at login for every user. Run as root:
#
#   sudo packaging/linux/install.sh --build dist/dispatch-console [--autostart]   # the one-dir build
#   sudo packaging/linux/install.sh [--autostart]                                # dispatch-console already on PATH
#   sudo packaging/linux/install.sh --uninstall
#
# Options:
#   --build DIR    copy the one-dir build DIR to /opt/dispatch-console (replacing an older one in place)
#                  and link PREFIX/bin/dispatch-console to it
#   --autostart    start the console when any user logs in (/etc/xdg/autostart)
#   --no-udev      leave device permissions alone (the position uses the dialout/input groups instead)
#   --prefix DIR   where the menu entry, metainfo, icons and command link go (default /usr/local)
#   --destdir DIR  stage everything under DIR instead of / (for packaging and tests; nothing is reloaded)
#   --uninstall    remove what this script installs
#
# Upgrading is running it again with the new build. Nothing here reads or writes the users' profiles,
# settings or databases (~/.config/dispatch-console, ~/.local/share/dispatch-console); uninstalling
# leaves them too. The console migrates an older profile and database itself on first start.
set -euo pipefail

APP_ID=org.dispatchconsole.DispatchConsole
HERE=$(cd "$(dirname "$0")" && pwd)

build=""
autostart=0
udev=1
prefix=/usr/local
destdir=""
uninstall=0

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=${2:?--build needs a folder}; shift 2 ;;
    --autostart) autostart=1; shift ;;
    --no-udev) udev=0; shift ;;
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --destdir) destdir=${2:?--destdir needs a folder}; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or stage with --destdir DIR" >&2
  exit 1
fi

opt_dir=$destdir/opt/dispatch-console
bin_link=$destdir$prefix/bin/dispatch-console
share=$destdir$prefix/share
rules=$destdir/etc/udev/rules.d/70-dispatch-console.rules
autostart_entry=$destdir/etc/xdg/autostart/$APP_ID.desktop

icon_files() {  # paths below icons/, e.g. hicolor/48x48/apps/<id>.png
  (cd "$HERE/icons" && find hicolor -type f | sort)
}

refresh_desktop_caches() {
  [ -z "$destdir" ] || return 0
  if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$share/icons/hicolor" || true
  fi
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$share/applications" || true
  fi
}

reload_udev() {
  [ -z "$destdir" ] || return 0
  command -v udevadm >/dev/null || { echo "install.sh: udevadm not found; replug the devices" >&2; return 0; }
  udevadm control --reload
  # Re-run the rules for devices already plugged in, so their ACLs appear without a replug.
  udevadm trigger --action=change --subsystem-match=tty --subsystem-match=hidraw --subsystem-match=input
}

if [ "$uninstall" = 1 ]; then
  rm -f "$share/applications/$APP_ID.desktop" "$share/metainfo/$APP_ID.metainfo.xml" "$autostart_entry"
  while read -r icon; do rm -f "$share/icons/$icon"; done < <(icon_files)
  if [ -L "$bin_link" ] && [ "$(readlink "$bin_link")" = "/opt/dispatch-console/dispatch-console" ]; then
    rm -f "$bin_link"
  fi
  rm -rf "$opt_dir"
  if [ -f "$rules" ]; then rm -f "$rules"; reload_udev; fi
  refresh_desktop_caches
  echo "Dispatch Console removed. Users' profiles and data (~/.config/dispatch-console,"
  echo "~/.local/share/dispatch-console) were left in place."
  exit 0
fi

if [ -n "$build" ]; then
  if [ ! -x "$build/dispatch-console" ]; then
    echo "install.sh: $build/dispatch-console is not an executable one-dir build" >&2
    exit 1
  fi
  # Copy beside the old build, then swap: a console started mid-upgrade sees one whole build or the other.
  mkdir -p "$(dirname "$opt_dir")"
  rm -rf "$opt_dir.new" "$opt_dir.old"
  cp -a "$build" "$opt_dir.new"
  [ -d "$opt_dir" ] && mv "$opt_dir" "$opt_dir.old"
  mv "$opt_dir.new" "$opt_dir"
  rm -rf "$opt_dir.old"
  mkdir -p "$(dirname "$bin_link")"
  ln -sfn /opt/dispatch-console/dispatch-console "$bin_link"
elif [ -z "$destdir" ] && ! command -v dispatch-console >/dev/null; then
  echo "install.sh: warning: dispatch-console is not on PATH; the menu entry will not start until it is" >&2
fi

install -D -m 0644 "$HERE/$APP_ID.desktop" "$share/applications/$APP_ID.desktop"
install -D -m 0644 "$HERE/$APP_ID.metainfo.xml" "$share/metainfo/$APP_ID.metainfo.xml"
while read -r icon; do
  install -D -m 0644 "$HERE/icons/$icon" "$share/icons/$icon"
done < <(icon_files)
refresh_desktop_caches

if [ "$autostart" = 1 ]; then
  install -D -m 0644 "$HERE/$APP_ID.desktop" "$autostart_entry"
fi

if [ "$udev" = 1 ]; then
  install -D -m 0644 "$HERE/70-dispatch-console.rules" "$rules"
  reload_udev
fi

echo "Dispatch Console installed${build:+ from $build}."
[ "$autostart" = 1 ] && echo "It starts when a user logs in ($autostart_entry)."
[ "$udev" = 1 ] && echo "Device access for the seated user: $rules (replug devices or log in again)."
exit 0
