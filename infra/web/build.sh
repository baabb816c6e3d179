#!/usr/bin/env bash
# Build the library's screens (web/) into web/dist, which the gateway serves.
# Node and npm come from Debian when the machine has none; the front-end packages
# are installed with `npm ci` from web/package-lock.json once per lockfile (the
# versions tested, nothing newer), then Vite bundles them: nothing is fetched from
# the internet when the screens run. Safe to run twice; a build takes ~2 s.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT/web"

# Vite 7 needs Node 20.19 or newer (the machine's is 20.20).
NODE_MIN="20.19"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
fi
node -e "const [a,b]=process.versions.node.split('.').map(Number),[x,y]='$NODE_MIN'.split('.').map(Number);process.exit(a>x||(a==x&&b>=y)?0:1)" \
    || die "Node $(node --version) is too old to build the screens: need $NODE_MIN or newer"

STAMP=node_modules/.installed
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$lock_sum" ]; then
    log "installing the front-end packages (npm ci in web/; once per lockfile)"
    start=$SECONDS
    rm -rf node_modules
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    printf '%s\n' "$lock_sum" >"$STAMP"  # last: an interrupted install is redone
    log "front-end packages installed in $(( SECONDS - start ))s"
fi

# Built beside and swapped in, so a gateway serving web/dist never sees it half-written.
log "building the screens into web/dist"
out="$(mktemp -d .dist.XXXXXX)"
trap 'rm -rf "$out"' EXIT
node_modules/.bin/vite build --logLevel warn --outDir "$out" --emptyOutDir
chmod 755 "$out"
old="$(mktemp -d .dist-old.XXXXXX)"
[ -d dist ] && mv dist "$old/"
mv "$out" dist
rm -rf "$old"
