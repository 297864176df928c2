# Sourced by the package builders (tools/build-deb.sh, tools/build-dkms-deb.sh): their shared options and version.
# The caller sets ROOT, defines usage and runs from the repository's top.

# The project's own version line; a package's version adds the commit (date and hash) it was built from.
BASE_VERSION=0.1.0

# package_options SCRIPT ARGS...: --version VERSION, --out DIR (default artifacts/packages), -h/--help. Sets VERSION
# and OUT; unknown arguments exit 2 naming SCRIPT.
package_options() {
  local script="$1"
  shift
  VERSION="" OUT="$ROOT/artifacts/packages"
  while [ $# -gt 0 ]; do
    case "$1" in
      --version) VERSION="${2:?--version needs a value}"; shift ;;
      --out) OUT="${2:?--out needs a directory}"; shift ;;
      -h|--help) usage; exit 0 ;;
      *) echo "$script: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
}

# package_version: VERSION as given, else BASE_VERSION+gitYYYYMMDD.HASH of HEAD, '.dirty' added when tracked files
# have uncommitted changes (needs git).
package_version() {
  if [ -z "$VERSION" ]; then
    VERSION="$BASE_VERSION+git$(git log -1 --date=format:%Y%m%d --format=%cd).$(git rev-parse --short=7 HEAD)"
    [ -z "$(git status --porcelain --untracked-files=no)" ] || VERSION="$VERSION.dirty"
  fi
}
