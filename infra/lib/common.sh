# Helpers sourced by the infra/*.sh scripts (bash only, expects set -euo pipefail).

# Repo root = parent of infra/, whatever the caller's cwd.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '[infra] %s\n' "$*"; }
warn() { printf '[infra] WARNING: %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# True when a Debian package is fully installed ("dpkg -s" alone also succeeds
# for packages that were removed but left config files behind).
pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# ensure_packages PKG... : apt-get install only the missing ones.
# apt-get update runs at most once per call, and is skipped when the package
# lists are less than an hour old, so a re-run on a provisioned box costs nothing.
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    [ "$(id -u)" -eq 0 ] || die "packages missing (${missing[*]}) and not root: install them first"
    log "installing missing packages: ${missing[*]}"
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 2>/dev/null | head -1)" ]; then
        apt-get update -q
    fi

    # Without a policy-rc.d, package scripts would try to start rabbitmq/postgres
    # themselves (and fail noisily in containers). We start them ourselves, so
    # forbid it for the duration of the install; an existing policy is left alone.
    local policy=/usr/sbin/policy-rc.d added_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        added_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    [ "$added_policy" -eq 1 ] && rm -f "$policy"
    [ "$rc" -eq 0 ] || die "apt-get install failed (exit $rc)"
}

# wait_until SECONDS DESCRIPTION CMD... : poll CMD every second until it
# succeeds; fail with a clear message after SECONDS.
wait_until() {
    local timeout="$1" what="$2" start=$SECONDS
    shift 2
    until "$@" >/dev/null 2>&1; do
        if (( SECONDS - start >= timeout )); then
            return 1
        fi
        sleep 1
    done
    log "$what ready after $(( SECONDS - start ))s"
}
