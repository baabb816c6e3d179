#!/usr/bin/env bash
# Validate docs/asyncapi.yaml with the official AsyncAPI CLI (@asyncapi/cli, pinned
# in package.json and package-lock.json next to this script). Node and npm come
# from Debian when the machine has none (the CI machine has Node 20); the CLI is
# installed with `npm ci` into infra/asyncapi/node_modules only when missing or
# when the lockfile changed, so a second run costs only the validation (~5 s).
# Errors fail the check; warnings are printed and allowed (docs/events.md).
# Nothing is sent anywhere: the CLI's usage metrics and update check are off,
# its install scripts (shell autocomplete in ~/.bashrc, a tracking ping) not run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"

HERE=infra/asyncapi
DOCUMENT="${1:-docs/asyncapi.yaml}"
# The Node the pinned CLI was checked on (the machine's 20.20; some of its packages need 20).
NODE_MIN_MAJOR=20
STAMP="$HERE/node_modules/.installed"
STATE="$HERE/.state"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge "$NODE_MIN_MAJOR" ] \
    || die "Node $(node --version) is too old for @asyncapi/cli: need $NODE_MIN_MAJOR or newer"

lock_sum="$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$lock_sum" ]; then
    log "installing the AsyncAPI CLI (npm ci in $HERE; once per lockfile)"
    start=$SECONDS
    rm -rf "$HERE/node_modules"
    # --ignore-scripts: the CLI's postinstall would edit ~/.bashrc, another's ping a tracker.
    SCARF_ANALYTICS=false npm ci --prefix "$HERE" --ignore-scripts --omit=optional \
        --no-audit --no-fund --loglevel=error
    printf '%s\n' "$lock_sum" >"$STAMP"  # last: an interrupted install is redone
    log "AsyncAPI CLI installed in $(( SECONDS - start ))s"
fi

# The CLI's own state (its metrics switch, oclif's cache) stays here, not in $HOME.
mkdir -p "$STATE"
[ -f "$STATE/analytics.json" ] \
    || printf '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"none"}\n' \
        >"$STATE/analytics.json"
asyncapi() {
    ASYNCAPI_METRICS_CONFIG_PATH="$STATE/analytics.json" \
        ASYNCAPI_SKIP_NEW_VERSION_CHECK=true \
        XDG_CACHE_HOME="$STATE/cache" XDG_CONFIG_HOME="$STATE/config" XDG_DATA_HOME="$STATE/data" \
        "$HERE/node_modules/.bin/asyncapi" "$@"
}
log "asyncapi validate $DOCUMENT ($(asyncapi --version | head -1))"
asyncapi validate "$DOCUMENT" --fail-severity=error
