#!/usr/bin/env bash
# The part of tests/packaging/dkms-check.sh that runs inside a freshly bootstrapped Debian 12 root (started through
# tests/packaging/fresh-root.sh in a clean clone of the repository): builds the DKMS package from the clone,
# installs it the way the guest driver's README tells operators to, next to the headers of kernel KVER, records what
# DKMS did, then removes the package again. Everything lands in artifacts/packaging-dkms-root/ for the host; steps.txt has one
# "STEP EXIT-CODE SECONDS" line per step. Exits 0 once the files are written, whatever the steps did.
set -uo pipefail
KVER="${1:?usage: tests/packaging/dkms-in-root.sh KVER}"
R=artifacts/packaging-dkms-root
rm -rf "$R"
mkdir -p "$R"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=600 -q)

# step NAME LOG CMD...: runs CMD with its output in $R/LOG, records its exit code and duration.
step() {
    local name=$1 log=$2 t0 rc
    shift 2
    t0=$(date +%s)
    "$@" > "$R/$log" 2>&1
    rc=$?
    echo "$name $rc $(( $(date +%s) - t0 ))" >> "$R/steps.txt"
    return $rc
}

step apt-update apt-update.log "${APT[@]}" update
step build build.log tools/build-dkms-deb.sh
DEB="$(tail -n 1 "$R/build.log")"
basename "$DEB" > "$R/deb-name.txt"
# What an operator runs in a guest (guest-kernel/README.md), with the guest kernel's headers.
step install install.log "${APT[@]}" install -y "$DEB" "linux-headers-$KVER"
dkms status > "$R/dkms-status.txt" 2>&1
# DKMS keeps the compiler output of a successful build in .../KERNEL/ARCH/log/make.log.
cp /var/lib/dkms/spectrum-camera/*/"$KVER"/*/log/make.log "$R/make.log" 2>/dev/null
for ko in /lib/modules/"$KVER"/updates/dkms/virtio_media_camera.ko*; do
    [ -f "$ko" ] || continue
    cp "$ko" "$R/"
    modinfo "$ko" > "$R/modinfo.txt" 2>&1
done
step lintian-install lintian-install.log "${APT[@]}" install -y --no-install-recommends lintian
step lintian lintian.txt lintian --fail-on error --display-level ">=warning" "$DEB"
step remove remove.log "${APT[@]}" remove -y spectrum-camera-dkms
dkms status > "$R/dkms-status-after-remove.txt" 2>&1
ls -la "/lib/modules/$KVER/updates/dkms/" > "$R/modules-after-remove.txt" 2>&1
exit 0
