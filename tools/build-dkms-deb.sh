#!/usr/bin/env bash
# Builds the guest driver's DKMS package, artifacts/packages/spectrum-camera-dkms_VERSION_all.deb, with dpkg-deb
# (tools/install-deps.sh installs what is missing): the driver's source in /usr/src/spectrum-camera-VERSION, and
# maintainer scripts that let DKMS build and install virtio_media_camera.ko for every installed kernel with headers.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
. tools/lib/package-options.sh
NAME=spectrum-camera

usage() {
  cat <<USAGE
Usage: tools/build-dkms-deb.sh [--version VERSION] [--out DIR]

Builds the DKMS package of the guest driver (guest-kernel/) with dpkg-deb from packaging/dkms/. Prints the .deb's
path as the last line. Install it inside a guest (Debian 12 or later, with the headers of the guest's kernel):

  sudo apt install ./spectrum-camera-dkms_VERSION_all.deb linux-headers-\$(uname -r)
  dkms status spectrum-camera          # spectrum-camera/VERSION, KERNEL, x86_64: installed
  sudo modprobe virtio_media_camera    # or reboot: the virtio device loads it

  --version VERSION  the package version (default $BASE_VERSION+gitYYYYMMDD.HASH of HEAD, '.dirty' added when the
                     working tree has uncommitted changes); also the DKMS module version
  --out DIR          where the .deb goes (default artifacts/packages)

Installs: /usr/src/$NAME-VERSION/ (the driver's C sources, Kbuild, Makefile and dkms.conf) and
/usr/share/doc/$NAME-dkms/. On installation DKMS builds the module for the installed kernels that have their
headers, into /lib/modules/KERNEL/updates/dkms/; on removal it removes them again.
USAGE
}

package_options tools/build-dkms-deb.sh "$@"
log() { printf '[build-dkms-deb] %s\n' "$*" >&2; }

tools/install-deps.sh dpkg gzip git

package_version
# A Debian upstream version, also a DKMS module version: no '-' (DKMS splits NAME-VERSION there) or '_'.
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "tools/build-dkms-deb.sh: bad version '$VERSION'" >&2; exit 2; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PKG="$OUT/dkms-build/pkg"
rm -rf "$OUT/dkms-build"
SRC="$PKG/usr/src/$NAME-$VERSION"
DOC="$PKG/usr/share/doc/$NAME-dkms"
mkdir -p "$SRC" "$DOC" "$PKG/DEBIAN"

# The sources DKMS builds from: exactly the files the module's Kbuild compiles, plus the build files.
cp guest-kernel/*.c guest-kernel/*.h guest-kernel/Kbuild guest-kernel/Makefile "$SRC/"
sed "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$VERSION\"/" guest-kernel/dkms.conf > "$SRC/dkms.conf"
grep -q "^PACKAGE_NAME=\"$NAME\"$" "$SRC/dkms.conf" || { echo "dkms.conf: PACKAGE_NAME is not $NAME" >&2; exit 1; }

cp packaging/dkms/copyright "$DOC/copyright"
gzip -9n < guest-kernel/README.md > "$DOC/README.md.gz"
{
  echo "$NAME-dkms ($VERSION) unstable; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse HEAD)."
  echo
  echo " -- Spectrum Camera developers <spectrum-camera@users.invalid>  $(git log -1 --format=%cD)"
} | gzip -9n > "$DOC/changelog.gz"    # a native package: no Debian revision, so changelog, not changelog.Debian

for script in postinst prerm; do
  sed -e "s/@NAME@/$NAME/g" -e "s/@VERSION@/$VERSION/g" "packaging/dkms/$script" > "$PKG/DEBIAN/$script"
  chmod 0755 "$PKG/DEBIAN/$script"
done
find "$PKG" -type d -exec chmod 0755 {} +
find "$PKG/usr" -type f -exec chmod 0644 {} +
# Reproducible: every file carries the commit's time.
STAMP="$(git log -1 --format=%ct)"
find "$PKG" -exec touch -h -d "@$STAMP" {} +
SIZE="$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$SIZE/" packaging/dkms/control > "$PKG/DEBIAN/control"
(cd "$PKG" && find usr -type f -print0 | sort -z | xargs -0 md5sum) > "$PKG/DEBIAN/md5sums"

DEB="$OUT/${NAME}-dkms_${VERSION}_all.deb"
rm -f "$DEB"
SOURCE_DATE_EPOCH="$STAMP" dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >&2
rm -rf "$OUT/dkms-build"
log "built $(basename "$DEB") ($(du -k "$DEB" | cut -f1) KiB, DKMS module $NAME/$VERSION)"
echo "$DEB"
