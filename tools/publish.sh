#!/usr/bin/env bash
# Publishes spectrum-camera (or another project of the solution) as one self-contained, trimmed, ReadyToRun
# executable for linux-x64: what the Debian package installs and what a QEMU guest can run without the .NET SDK.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() {
  cat <<'USAGE'
Usage: tools/publish.sh --out DIR [--version VERSION] [PROJECT...]

Runs 'dotnet publish -c Release -r linux-x64 --self-contained' with PublishSingleFile, PublishTrimmed and
PublishReadyToRun for each PROJECT (a directory under the repository, default src/Spectrum.Camera.Cli) into DIR,
with its own build directory (DIR/../publish-build), so it never races a solution build in artifacts/build.
The executables need only glibc and libstdc++ at run time. Prints each executable's path.

  --out DIR          where the executables go (created)
  --version VERSION  stamped into the assemblies' informational version
USAGE
}

OUT="" VERSION="" PROJECTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a directory}"; shift ;;
    --version) VERSION="${2:?--version needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "tools/publish.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) PROJECTS+=("$1") ;;
  esac
  shift
done
[ -n "$OUT" ] || { usage >&2; exit 2; }
[ ${#PROJECTS[@]} -gt 0 ] || PROJECTS=(src/Spectrum.Camera.Cli)
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
# Google.Protobuf (the camera service's protocol) is not annotated for trimming: its summary warning IL2104 would fail
# the publish under TreatWarningsAsErrors; the CLI keeps that assembly whole (TrimmerRootAssembly), and the project's
# own assemblies are analysed for trimming at build time (IsAotCompatible). ReadyToRun: the program starts without
# JIT-compiling its start-up path (the camera service took 10-30 s to start in a TCG guest without it).
# No MSBuild nodes or compiler server stay behind after the publish (a CI run or a package build should end clean).
extra=()
[ -z "$VERSION" ] || extra+=("-p:InformationalVersion=$VERSION")
for project in "${PROJECTS[@]}"; do
  log="$OUT/../publish-$(basename "$project").log"
  dotnet publish "$ROOT/$project" -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:PublishTrimmed=true -p:SuppressTrimAnalysisWarnings=true -p:PublishReadyToRun=true \
    -p:ArtifactsPath="$OUT/../publish-build" ${extra[@]+"${extra[@]}"} -o "$OUT" -nologo -v quiet \
    -nodeReuse:false -p:UseSharedCompilation=false > "$log" 2>&1 ||
    { cat "$log" >&2; echo "tools/publish.sh: publishing $project failed" >&2; exit 1; }
  name="$(sed -n 's:.*<AssemblyName>\(.*\)</AssemblyName>.*:\1:p' "$ROOT/$project"/*.csproj)"
  [ -n "$name" ] || name="$(basename "$project")"
  [ -x "$OUT/$name" ] || { echo "tools/publish.sh: no executable $OUT/$name after publishing $project" >&2; exit 1; }
  echo "$OUT/$name"
done
