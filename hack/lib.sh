# shellcheck shell=bash
# Shared helpers for the hack/ scripts. Source it; it does nothing on its own.
#
# Conventions: quiet on success, one-line actionable error on failure, the
# full output of every long step in $SANDHOLD_LOG_DIR.

SANDHOLD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SANDHOLD_LOG_DIR="${SANDHOLD_LOG_DIR:-/var/log/sandhold}"
SANDHOLD_CACHE_DIR="${SANDHOLD_CACHE_DIR:-/var/cache/sandhold}"
SANDHOLD_ETC_DIR="${SANDHOLD_ETC_DIR:-/etc/sandhold}"
DOCKER_DAEMON_JSON="${DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}"
SANDHOLD_VERSION="${SANDHOLD_VERSION:-$(tr -d "[:space:]" <"$SANDHOLD_ROOT/VERSION")}"

# Label put on every locally built image: the hash of the recipe it came from.
# An image carrying the current hash is up to date and is not rebuilt.
export RECIPE_LABEL="dev.sandhold.image.recipe-sha256"

die() {
  echo "error: $*" >&2
  exit 1
}

# Progress lines only when asked for (SANDHOLD_VERBOSE=1): success is quiet.
note() {
  if [[ "${SANDHOLD_VERBOSE:-0}" == 1 ]]; then echo "$*" >&2; fi
}

require_root() {
  [[ "$(id -u)" == 0 ]] || die "$(basename "$0") must run as root (it installs packages and manages dockerd); re-run with sudo"
}

# run_logged LOGNAME CMD... : append CMD's output to $SANDHOLD_LOG_DIR/LOGNAME.log;
# on failure print one line naming the command and the log, then the log tail.
run_logged() {
  local log="$SANDHOLD_LOG_DIR/$1.log"
  shift
  mkdir -p "$SANDHOLD_LOG_DIR"
  echo "--- $(date -u +%FT%TZ) $*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    echo "error: '$*' failed; full output in $log" >&2
    tail -n 15 "$log" | sed 's/^/  | /' >&2
    return 1
  fi
}

# Seconds since the epoch with a fraction, for step timings.
now() { date +%s.%N; }
elapsed_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

# apt_install PKG... : install only the packages that are missing. apt-get
# update runs at most once per script run and only when something is missing.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
      missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  note "apt: installing ${missing[*]}"
  if [[ -z "${_SANDHOLD_APT_UPDATED:-}" ]]; then
    run_logged apt apt-get update -q || die "apt-get update failed; check the Debian mirror in /etc/apt/sources.list*"
    _SANDHOLD_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive run_logged apt \
    apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    die "could not install ${missing[*]} with apt-get; see $SANDHOLD_LOG_DIR/apt.log"
}

# The Debian mirror apt already uses for the host's release (not -security,
# not third-party repos), read from deb822 or one-line sources.
debian_mirror() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  python3 - "$codename" <<'EOF'
import glob, re, sys
codename = sys.argv[1]
files = glob.glob("/etc/apt/sources.list") + sorted(glob.glob("/etc/apt/sources.list.d/*"))
for path in files:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        continue
    if path.endswith(".sources"):
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if codename in fields.get("Suites", "").split() and "deb" in fields.get("Types", "").split():
                print(fields["URIs"].split()[0]); sys.exit(0)
    else:
        for line in text.splitlines():
            m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s", line.strip() + " ")
            if m and m.group(2) == codename:
                print(m.group(1)); sys.exit(0)
sys.exit(1)
EOF
}

# sha256 of a list of files' names and contents plus extra strings: the key of
# a cached build.
recipe_hash() {
  {
    local f
    for f in "$@"; do
      if [[ -f "$f" ]]; then echo "file:${f#"$SANDHOLD_ROOT"/}"; cat "$f"; else echo "str:$f"; fi
    done
  } | sha256sum | cut -c1-16
}

# docker_ready: does a dockerd answer on the default socket?
docker_ready() { timeout 10 docker info >/dev/null 2>&1; }
