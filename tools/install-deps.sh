#!/usr/bin/env bash
# Installs Debian packages the project's scripts need, so that a freshly installed Debian 12 with the .NET SDK runs
# the README's commands. With no arguments: what the build, the .NET tests, the fuzzing and the end-to-end scripts
# need before they install their own extras. With package names: only those (the other scripts call it so for what
# they use themselves). Idempotent: does nothing when everything is present; `apt-get update` runs once, only when
# something is missing.
set -euo pipefail

# gcc, libc6-dev, make: the native layout test and the guest driver; python3: result counting and the e2e judges;
# ffmpeg: imaging tests and the demo's PNG; libturbojpeg0: MJPEG decoding; afl++: tests/fuzz/run.sh;
# kmod: depmod and modinfo for the guest kernels' module trees (tools/fetch-guest-kernel.sh, the initramfs);
# tmux, xvfb, dbus-daemon: the ctl prompt test (a real terminal) and the notify test (a real session bus and
# notification server; dunst itself comes from bookworm-backports, below).
DEFAULT=(gcc libc6-dev make python3 ffmpeg libturbojpeg0 afl++ kmod tmux xvfb dbus-daemon)

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  cat <<USAGE
Usage: tools/install-deps.sh [PACKAGE...]

Installs the Debian packages that are missing: with no arguments the project's base set
(${DEFAULT[*]}), otherwise the packages named. Runs apt-get as root, or through sudo.
USAGE
  exit 0
fi

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${DEFAULT[@]}")
need=()
for pkg in "${wanted[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] || need+=("$pkg")
done

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
# apt's progress goes to a log, shown only if something fails.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
apt_install() {
  if ! { $SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq &&
         DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=1200 install -y -qq "$@"; } > "$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "[install-deps] apt-get could not install $* (output above)" >&2
    exit 1
  fi
}

if [ ${#need[@]} -gt 0 ]; then
  echo "[install-deps] installing ${need[*]}" >&2
  apt_install "${need[@]}"
fi

# The base set also has dunst >= 1.11 for the notify tests: they click a notification's action through dunst's
# context menu (its dmenu setting), which bookworm's 1.9 cannot do; 1.11 is in bookworm-backports.
if [ $# -eq 0 ] && ! dpkg --compare-versions "$(dpkg-query -W -f='${Version}' dunst 2>/dev/null || echo 0)" ge 1.11; then
  "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/enable-backports.sh"
  echo "[install-deps] installing dunst from bookworm-backports" >&2
  apt_install -t bookworm-backports dunst
fi
