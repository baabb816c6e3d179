#!/usr/bin/env bash
# A second (third...) PostgreSQL cluster on this machine, beside the one infra/up.sh runs.
#
#   infra/extra_postgres.sh start  NAME PORT   create the cluster if missing, start it, role + databases
#   infra/extra_postgres.sh stop   NAME PORT   stop it (data kept)
#   infra/extra_postgres.sh status NAME PORT   exit 0 when it accepts connections
#   infra/extra_postgres.sh drop   NAME PORT   stop and delete the cluster
#
# Debian's cluster tools do the work: `pg_createcluster <version> NAME --port PORT`
# (data in /var/lib/postgresql/<version>/NAME, config in /etc/postgresql/<version>/NAME,
# log in /var/log/postgresql/postgresql-<version>-NAME.log), started by hand only
# (start.conf = manual), run as the postgres user by `pg_ctlcluster`. It gets the
# `library` role (password LIBRARY_DB_PASSWORD, default library) and the four
# service databases, as infra/up.sh does for the main cluster, or only those listed
# in EXTRA_POSTGRES_DATABASES (space-separated, may be empty); migrations are the
# caller's (`python -m shared.storage.migrate` with DSNs on PORT). Restart it with
# `pg_ctlcluster <version> NAME restart`. Used by the fault tests (tests/faults) and
# infra/test_apart.sh; safe to run twice.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -eq 3 ] || usage
ACTION="$1" NAME="$2" PORT="$3"
[[ "$NAME" =~ ^[a-z][a-z0-9_]*$ ]] || die "bad cluster name '$NAME' (lower-case letters, digits and _)"
[[ "$PORT" =~ ^[0-9]+$ ]] && (( PORT > 1024 && PORT < 65536 )) || die "bad port '$PORT'"
[ "$NAME" != main ] || die "'main' is infra/up.sh's cluster; pick another name"

DB_ROLE=library
DB_PASSWORD="${LIBRARY_DB_PASSWORD:-library}"
read -r -a DATABASES <<<"${EXTRA_POSTGRES_DATABASES-library_catalog library_circulation library_activities library_archives library_accounts}"
for db in "${DATABASES[@]}"; do
    [[ "$db" =~ ^[a-z][a-z0-9_]*$ ]] || die "bad database name '$db' in EXTRA_POSTGRES_DATABASES"
done
MAX_CONNECTIONS=200
TIMEOUT="${EXTRA_POSTGRES_TIMEOUT:-60}"

[ -d /usr/lib/postgresql ] || die "PostgreSQL is not installed: run infra/up.sh first"
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

# "online", "down", or empty when the cluster does not exist.
cluster_status() {
    pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$NAME" '$1==v && $2==c {print $4}'
}
cluster_port() {
    pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$NAME" '$1==v && $2==c {print $3}'
}
ready() { pg_isready -q -h 127.0.0.1 -p "$PORT"; }
# psql as the postgres superuser over the local socket (peer auth).
admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"); }

cmd_start() {
    local status
    status="$(cluster_status)"
    if [ -z "$status" ]; then
        log "creating PostgreSQL cluster $PG_VERSION/$NAME on port $PORT"
        pg_createcluster "$PG_VERSION" "$NAME" --port "$PORT" --start-conf manual \
            -- --auth-local peer --auth-host scram-sha-256 >/dev/null
        pg_conftool "$PG_VERSION" "$NAME" set max_connections "$MAX_CONNECTIONS"
    elif [ "$(cluster_port)" != "$PORT" ]; then
        die "cluster $PG_VERSION/$NAME exists on port $(cluster_port), not $PORT"
    fi
    if [[ "$(cluster_status)" == online* ]]; then
        log "PostgreSQL $PG_VERSION/$NAME already running"
    else
        log "starting PostgreSQL $PG_VERSION/$NAME"
        pg_ctlcluster "$PG_VERSION" "$NAME" start
    fi
    if ! wait_until "$TIMEOUT" "PostgreSQL $PG_VERSION/$NAME" ready; then
        tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$NAME.log" >&2 || true
        die "PostgreSQL $PG_VERSION/$NAME not accepting connections on port $PORT"
    fi
    if [ "$(admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" = 1 ]; then
        admin -v pw="$DB_PASSWORD" <<<"ALTER ROLE $DB_ROLE LOGIN CREATEDB PASSWORD :'pw';"
    else
        log "creating role '$DB_ROLE'"
        admin -v pw="$DB_PASSWORD" <<<"CREATE ROLE $DB_ROLE LOGIN CREATEDB PASSWORD :'pw';"
    fi
    local db
    for db in "${DATABASES[@]}"; do
        if [ "$(admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
            log "creating database $db"
            admin -c "CREATE DATABASE $db OWNER $DB_ROLE"
        fi
    done
    PGPASSWORD="$DB_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PORT" -U "$DB_ROLE" \
        -d postgres -tA -c 'select 1' >/dev/null \
        || die "cannot log in as '$DB_ROLE' over TCP on port $PORT"
    log "PostgreSQL $PG_VERSION/$NAME: postgresql://$DB_ROLE@127.0.0.1:$PORT/ (${DATABASES[*]:-no databases})"
}

cmd_stop() {
    if [[ "$(cluster_status)" == online* ]]; then
        log "stopping PostgreSQL $PG_VERSION/$NAME"
        pg_ctlcluster "$PG_VERSION" "$NAME" stop
    else
        log "PostgreSQL $PG_VERSION/$NAME not running"
    fi
}

cmd_status() {
    if ready; then
        log "PostgreSQL $PG_VERSION/$NAME running on port $PORT"
    else
        local status
        status="$(cluster_status)"
        log "PostgreSQL $PG_VERSION/$NAME not running (${status:-no such cluster})"
        return 1
    fi
}

cmd_drop() {
    if [ -z "$(cluster_status)" ]; then
        log "no cluster $PG_VERSION/$NAME"
        return 0
    fi
    pg_dropcluster --stop "$PG_VERSION" "$NAME"
    log "dropped PostgreSQL cluster $PG_VERSION/$NAME"
}

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    drop) cmd_drop ;;
    *) usage ;;
esac
