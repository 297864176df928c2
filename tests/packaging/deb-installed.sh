#!/usr/bin/env bash
# Inside a fresh Debian 12 root (tests/packaging/deb-check.sh runs it through fresh-root.sh): installs the host
# package with apt and checks what an operator relies on. One line per check on stdout:
#   CHECK PASS|FAIL <name> | <detail>
# Exit status 0 when every check passed.
set -uo pipefail
DEB="${1:?usage: deb-installed.sh PACKAGE.deb}"
failed=0
check() {  # NAME PASSED(0/1 as a command status) DETAIL
  if [ "$2" = 0 ]; then echo "CHECK PASS $1 | $3"; else echo "CHECK FAIL $1 | $3"; failed=1; fi
}

apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
out="$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$DEB" 2>&1)"; rc=$?
echo "$out" >&2
check "apt-get install ./$(basename "$DEB") in a fresh root exits 0 (dependencies from the Debian archive)" "$rc" \
  "exit $rc; $(dpkg-query -W -f='${Package} ${Version} ${Status}' spectrum-camera 2>&1)"

out="$(spectrum-camera --help 2>&1)"; rc=$?
[ "$rc" = 0 ] && grep -q '^Usage: spectrum-camera <command>' <<< "$out" && ! command -v dotnet > /dev/null; ok=$?
check "spectrum-camera --help (on PATH, the self-contained program with no .NET installed) exits 0 with its usage" "$ok" \
  "exit $rc, $(wc -l <<< "$out") lines, $(command -v spectrum-camera) -> $(readlink -f "$(command -v spectrum-camera)"); dotnet on PATH: $(command -v dotnet || echo none)"
for cmd in serve camera-service ctl cameras verify-frames; do
  out="$(spectrum-camera "$cmd" --help 2>&1)"; rc=$?
  missing=""
  for section in "Usage: spectrum-camera $cmd" "Options:" "Exit status:" "Examples:"; do
    grep -q "^ *$section" <<< "$out" || missing="$missing '$section'"
  done
  [ "$rc" = 0 ] && [ -z "$missing" ]; ok=$?
  check "spectrum-camera $cmd --help exits 0 with usage, options, exit status and examples" "$ok" \
    "exit $rc, $(wc -l <<< "$out") lines${missing:+; missing:$missing}"
done
pages=0
for page in spectrum-camera spectrum-camera-serve spectrum-camera-camera-service spectrum-camera-ctl spectrum-camera-cameras \
            spectrum-camera-verify-frames; do
  [ -s "/usr/share/man/man1/$page.1.gz" ] && pages=$((pages + 1))
done
[ "$pages" = 6 ]; check "six man pages installed (spectrum-camera(1) and one per command)" $? "$pages of 6 in /usr/share/man/man1"

for unit in spectrum-camera-service.service spectrum-camera-sidecar@work.service spectrum-camera-producer@cam-vm.service; do
  out="$(systemd-analyze verify "$unit" 2>&1)"; rc=$?
  [ "$rc" = 0 ] && [ -z "$out" ]; ok=$?
  check "systemd-analyze verify $unit: exit 0, no warnings" "$ok" "exit $rc${out:+: $(tr '\n' ' ' <<< "$out" | cut -c1-300)}"
done
state="$(systemctl is-enabled spectrum-camera-service.service 2>&1)"
[ "$state" = disabled ]; check "the camera service is installed but not enabled (it needs /etc/spectrum-camera/camera-service.env first)" $? "is-enabled: $state"

entry="$(getent passwd spectrum-camera)"; uid="$(cut -d: -f3 <<< "$entry")"
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && id -nG spectrum-camera | grep -qw video; ok=$?
check "system user spectrum-camera (sysusers.d) exists, uid below 1000, in group video" "$ok" \
  "${entry:-no such user}; groups: $(id -nG spectrum-camera 2>&1)"
stat_state="$(stat -c '%a %U:%G' /var/lib/spectrum-camera 2>&1)"
[ "$stat_state" = "700 spectrum-camera:spectrum-camera" ]; ok=$?
check "tmpfiles.d made /var/lib/spectrum-camera 0700 spectrum-camera:spectrum-camera" "$ok" "$stat_state"
stat_run="$(stat -c '%a %U:%G' /run/spectrum-camera /run/spectrum-camera-vm 2>&1 | tr '\n' ' ')"
[ "$stat_run" = "755 spectrum-camera:spectrum-camera 755 root:root " ]; ok=$?
check "tmpfiles.d made /run/spectrum-camera (0755 spectrum-camera) and /run/spectrum-camera-vm (0755 root)" "$ok" "$stat_run"

# The installed program really works: a camera service with the synthetic camera, driven by ctl as an operator.
d="$(mktemp -d)"
spectrum-camera camera-service --camera test-pattern --vm vm1 --runtime-dir "$d/run" --state-dir "$d/state" > "$d/service.log" 2>&1 &
service=$!
for _ in $(seq 100); do [ -S "$d/run/operator.sock" ] && break; sleep 0.1; done
allow="$(spectrum-camera ctl --operator-socket "$d/run/operator.sock" allow vm1 2>&1)"; arc=$?
status="$(spectrum-camera ctl --operator-socket "$d/run/operator.sock" status vm1 --json 2>&1)"; src=$?
kill -TERM "$service"; wait "$service"; vrc=$?
[ "$arc" = 0 ] && [ "$src" = 0 ] && grep -q '"allowed":true' <<< "$status" && [ "$vrc" = 0 ]; ok=$?
check "the installed program runs: camera-service (test-pattern), ctl allow and status, SIGTERM exits 0" "$ok" \
  "allow exit $arc: $allow; status exit $src; service exit $vrc; $(tail -n 1 "$d/service.log")"
rm -rf "$d"

out="$(DEBIAN_FRONTEND=noninteractive apt-get purge -y -q spectrum-camera 2>&1)"; rc=$?
left="$(ls /usr/lib/spectrum-camera /lib/systemd/system/spectrum-camera-service.service /usr/bin/spectrum-camera 2>/dev/null)"
[ "$rc" = 0 ] && [ -z "$left" ]; ok=$?
check "apt-get purge spectrum-camera exits 0 and removes the program and the units" "$ok" "exit $rc${left:+; left: $left}"
exit "$failed"
