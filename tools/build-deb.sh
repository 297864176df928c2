#!/usr/bin/env bash
# Builds the host Debian package, artifacts/packages/spectrum-camera_VERSION_amd64.deb, with the Debian tools
# (dpkg-buildpackage, debhelper; installed if missing): the self-contained spectrum-camera program, the systemd units,
# the service's system user (sysusers.d), its directories (tmpfiles.d) and man pages made from the --help texts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. tools/lib/package-options.sh

usage() {
  cat <<USAGE
Usage: tools/build-deb.sh [--version VERSION] [--out DIR]

Publishes spectrum-camera (tools/publish.sh: self-contained, single file, trimmed, linux-x64), makes man pages from
its --help texts with help2man, and builds the package with dpkg-buildpackage from packaging/deb/ (the debian/
directory). Prints the .deb's path as the last line.

  --version VERSION  the package version (default $BASE_VERSION+gitYYYYMMDD.HASH of HEAD, '.dirty' added when the
                     working tree has uncommitted changes)
  --out DIR          where the .deb goes (default artifacts/packages)

Installs: /usr/lib/spectrum-camera/spectrum-camera (and /usr/bin/spectrum-camera), the units
spectrum-camera-service.service, spectrum-camera-sidecar@.service and spectrum-camera-producer@.service (not enabled
or started: configure
/etc/spectrum-camera/camera-service.env first), the user spectrum-camera (/usr/lib/sysusers.d), /var/lib and /run
directories (/usr/lib/tmpfiles.d), man pages spectrum-camera(1) and spectrum-camera-COMMAND(1), and the docs and
examples in /usr/share/doc/spectrum-camera.
USAGE
}

package_options tools/build-deb.sh "$@"
log() { printf '[build-deb] %s\n' "$*" >&2; }
command -v dotnet >/dev/null || { echo "tools/build-deb.sh: the .NET 10 SDK (dotnet) is needed: https://dot.net" >&2; exit 1; }
tools/install-deps.sh dpkg-dev debhelper help2man python3

package_version
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="$OUT/build"
SRC="$WORK/spectrum-camera-$VERSION"
rm -rf "$WORK"
mkdir -p "$SRC/staging/man"

log "publishing spectrum-camera $VERSION (self-contained, single file, trimmed; 1-3 minutes)"
tools/publish.sh --out "$WORK/publish" --version "$VERSION" src/Spectrum.Camera.Cli > /dev/null
BIN="$SRC/staging/spectrum-camera"
cp "$WORK/publish/spectrum-camera" "$BIN"

log "man pages from the --help texts (help2man)"
man_page() {  # NAME DESCRIPTION [COMMAND]: help2man runs NAME --help, so a command gets a wrapper named after it.
  local name="$1" description="$2" command="${3:-}" exe="$BIN"
  if [ -n "$command" ]; then
    exe="$WORK/wrappers/$name"
    mkdir -p "$WORK/wrappers"
    printf '#!/bin/sh\nexec %q %s "$@"\n' "$BIN" "$command" > "$exe"
    chmod +x "$exe"
  fi
  help2man --no-info --section=1 --version-string="$VERSION" --name="$description" --output="$SRC/staging/man/$name.1" "$exe"
  "$exe" --help > "$WORK/$name.help"
  python3 tools/help2man-sections.py "$SRC/staging/man/$name.1" "$WORK/$name.help"
}
man_page spectrum-camera "safe virtual camera for virtual machines (virtio-media over vhost-user)"
man_page spectrum-camera-serve "serve one VM's virtual camera over vhost-user (the sidecar)" serve
man_page spectrum-camera-camera-service "host camera service: the camera and each VM's camera permission" camera-service
man_page spectrum-camera-ctl "allow, deny or ask for VMs' camera use; requests, cameras, status, audit" ctl
man_page spectrum-camera-notify "desktop notifications for camera requests and camera use" notify
man_page spectrum-camera-cameras "list the host's V4L2 cameras with their formats, sizes and rates" cameras
man_page spectrum-camera-verify-frames "check a raw capture against the test pattern" verify-frames
man_page spectrum-camera-sandbox-selftest "check that this kernel enforces the sidecar's sandbox" sandbox-selftest
# Every command 'spectrum-camera --help' lists has its page.
for command in $("$BIN" --help | sed -n '/^Commands:/,/^$/p' | grep -oE '^  [a-z][a-z-]+' | tr -d ' '); do
  [ -f "$SRC/staging/man/spectrum-camera-$command.1" ] || { log "no man page for 'spectrum-camera $command' (add a man_page line)"; exit 1; }
done

log "assembling the package tree in $SRC"
cp -r packaging/deb "$SRC/debian"
mkdir -p "$SRC/docs" "$SRC/systemd/sysusers.d"
cp README.md "$SRC/"
cp docs/camera-service.md docs/sandboxing.md "$SRC/docs/"
cp systemd/*.service systemd/camera-service.env.example "$SRC/systemd/"
cp systemd/sysusers.d/spectrum-camera-vms.conf.example "$SRC/systemd/sysusers.d/"
cp systemd/sysusers.d/spectrum-camera.conf "$SRC/debian/spectrum-camera.sysusers"
cp systemd/tmpfiles.d/spectrum-camera.conf "$SRC/debian/spectrum-camera.tmpfiles"
cat > "$SRC/debian/changelog" <<CHANGELOG
spectrum-camera ($VERSION) unstable; urgency=medium

  * Built by tools/build-deb.sh from commit $(git rev-parse --short=12 HEAD).

 -- $(sed -n 's/^Maintainer: //p' packaging/deb/control)  $(date -R)
CHANGELOG

log "dpkg-buildpackage -b"
(cd "$SRC" && dpkg-buildpackage -b --no-sign) > "$WORK/dpkg-buildpackage.log" 2>&1 ||
  { tail -n 40 "$WORK/dpkg-buildpackage.log" >&2; log "dpkg-buildpackage failed (log: $WORK/dpkg-buildpackage.log)"; exit 1; }
DEB="spectrum-camera_${VERSION}_amd64.deb"
mv "$WORK/$DEB" "$OUT/$DEB"
log "built $OUT/$DEB ($(du -h "$OUT/$DEB" | cut -f1)); contents: dpkg-deb -c $OUT/$DEB"
echo "$OUT/$DEB"
