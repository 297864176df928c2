#!/usr/bin/env bash
# Enables Debian's bookworm-backports (deb and deb-src) when no apt source names it yet, and refreshes the package
# lists then. QEMU 10.0 (its source and firmware), meson 1.7 and dunst 1.11 come from there. Idempotent; exit 0 when
# backports is usable.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  echo "Usage: tools/enable-backports.sh   (adds /etc/apt/sources.list.d/bookworm-backports.sources if no source names bookworm-backports)"
  exit 0
fi
if grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "[enable-backports] enabling bookworm-backports (deb + deb-src) in /etc/apt/sources.list.d/bookworm-backports.sources" >&2
$SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources > /dev/null <<'SOURCES'
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
$SUDO apt-get -o DPkg::Lock::Timeout=1200 update -qq
