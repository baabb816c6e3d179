#!/usr/bin/env bash
# The whole test suite with the databases apart: circulation's and archives' on a
# second PostgreSQL cluster (15/apart, port 5434, started by infra/extra_postgres.sh),
# catalog's and activities' on the main one (5432). No server holds another
# service's database, so a query from one service into another's database fails
# ("database ... does not exist") instead of quietly finding it next door.
#
#   infra/test_apart.sh [pytest arguments...]      (make test-apart)
#
# APART_SERVICES (default "circulation archives") picks who moves; APART_PG_CLUSTER
# and APART_PG_PORT name the second cluster. The tests' scratch databases follow
# each DSN (shared/storage/scratch_databases.py). The fault tests (tests/faults) run on their own
# servers and do not follow these DSNs. Runs as root, like infra/up.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

APART_CLUSTER="${APART_PG_CLUSTER:-apart}"
APART_PORT="${APART_PG_PORT:-5434}"
read -r -a APART <<<"${APART_SERVICES:-circulation archives}"
ALL=(catalog circulation activities archives accounts)
DB_PASSWORD="${LIBRARY_DB_PASSWORD:-library}"

[ "$(id -u)" -eq 0 ] || die "run as root (it starts a PostgreSQL cluster and runs infra/up.sh)"
[ -x .venv/bin/pytest ] || die "the test tools are missing: run 'make dev' first"
[ "${#APART[@]}" -gt 0 ] || die "APART_SERVICES is empty: nothing would move"

password="$(.venv/bin/python -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$DB_PASSWORD")"
apart_dbs=()
for service in "${APART[@]}"; do
    [[ " ${ALL[*]} " == *" $service "* ]] || die "APART_SERVICES: no service '$service' (${ALL[*]})"
    apart_dbs+=("library_$service")
    export "${service^^}_DSN=postgresql://library:$password@127.0.0.1:$APART_PORT/library_$service"
done

# The second cluster, with only the moved services' databases.
EXTRA_POSTGRES_DATABASES="${apart_dbs[*]}" bash infra/extra_postgres.sh start "$APART_CLUSTER" "$APART_PORT"
# A cluster made earlier with every database keeps them: the others' go, so this
# server really holds none but its own services'.
for service in "${ALL[@]}"; do
    [[ " ${APART[*]} " == *" $service "* ]] && continue
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$APART_PORT" \
        -c "DROP DATABASE IF EXISTS library_$service WITH (FORCE)")
done

# The main cluster, each service's database where its DSN says, migrations, topology.
bash infra/up.sh
bash -c 'source infra/lib/common.sh && ensure_packages chromium fonts-wqy-microhei poppler-utils'
.venv/bin/python -m shared.storage.servers | sed 's/^/[infra] databases on /'

log "pytest with ${APART[*]} on 127.0.0.1:$APART_PORT"
start=$SECONDS
status=0
.venv/bin/pytest "$@" || status=$?
log "test-apart: pytest exit $status after $((SECONDS - start))s (${APART[*]} on port $APART_PORT)"
exit "$status"
