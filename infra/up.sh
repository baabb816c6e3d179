#!/usr/bin/env bash
# Bring up the local infrastructure: RabbitMQ (+ management API) and PostgreSQL
# with the library user/role and the four service databases, then apply the
# SQL migrations and the RabbitMQ topology. Idempotent: a second run only
# checks that everything answers, and takes a few seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

AMQP_USER="${LIBRARY_AMQP_USER:-library}"
AMQP_PASSWORD="${LIBRARY_AMQP_PASSWORD:-library}"
DB_ROLE=library
DB_PASSWORD="${LIBRARY_DB_PASSWORD:-library}"
DATABASES=(library_catalog library_circulation library_activities library_archives)
MGMT_URL=http://127.0.0.1:15672
PG_PORT=5432
PG_CLUSTER=main
PG_MAX_CONNECTIONS=300
RABBIT_TIMEOUT=90
PG_TIMEOUT=60

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and manages the servers)"

# ---------------------------------------------------------------- packages
# curl is needed to talk to the management API (not present on minimal images).
ensure_packages rabbitmq-server postgresql curl

# ---------------------------------------------------------------- RabbitMQ
# The CLI tools boot an Erlang VM each time (~0.5-1 s), so checks use short
# timeouts and the HTTP API where possible.
rabbit_ping() { rabbitmq-diagnostics -q ping -t 5 >/dev/null 2>&1; }

if rabbit_ping; then
    log "RabbitMQ already running"
else
    log "starting RabbitMQ"
    # The Debian wrapper drops to the rabbitmq user when called as root.
    # -detached prints a deprecation notice on 3.10 but still works and returns at once.
    rabbitmq-server -detached >/dev/null 2>&1 || true
    if ! wait_until "$RABBIT_TIMEOUT" "RabbitMQ node" rabbit_ping; then
        tail -n 30 /var/log/rabbitmq/rabbit@"$(hostname -s)".log 2>/dev/null >&2 || true
        die "RabbitMQ did not answer 'rabbitmq-diagnostics ping' within ${RABBIT_TIMEOUT}s (logs: /var/log/rabbitmq/)"
    fi
    # ping answers as soon as the Erlang node is up; wait for the broker apps too.
    rabbitmqctl -q await_startup --timeout "$RABBIT_TIMEOUT" >/dev/null \
        || die "RabbitMQ node is up but the broker did not finish booting within ${RABBIT_TIMEOUT}s"
fi

# Management plugin: skip the (slow) plugin CLI when the API already answers.
# Any HTTP answer (even 401, before our user exists) means the listener is up.
mgmt_listening() { curl -s -o /dev/null -m 5 "$MGMT_URL/api/overview"; }
if mgmt_listening; then
    log "management API answers"
else
    log "enabling rabbitmq_management"
    rabbitmq-plugins -q enable rabbitmq_management >/dev/null
    wait_until "$RABBIT_TIMEOUT" "management API" mgmt_listening \
        || die "management API did not answer on $MGMT_URL within ${RABBIT_TIMEOUT}s"
fi

# User: the fast path checks through the API that the user can log in, is an
# administrator and has full rights on "/"; otherwise (re)apply with rabbitmqctl.
amqp_user_ok() {
    curl -fsS -m 5 -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/whoami" 2>/dev/null \
        | grep -q administrator || return 1
    curl -fsS -m 5 -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/permissions/%2F/$AMQP_USER" 2>/dev/null \
        | grep -q '"configure":"\.\*","write":"\.\*","read":"\.\*"'
}
if amqp_user_ok; then
    log "RabbitMQ user '$AMQP_USER' ok"
else
    if rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qxF "$AMQP_USER"; then
        log "updating RabbitMQ user '$AMQP_USER'"
        rabbitmqctl -q change_password "$AMQP_USER" "$AMQP_PASSWORD" >/dev/null
    else
        log "creating RabbitMQ user '$AMQP_USER'"
        rabbitmqctl -q add_user "$AMQP_USER" "$AMQP_PASSWORD" >/dev/null
    fi
    rabbitmqctl -q set_user_tags "$AMQP_USER" administrator >/dev/null
    rabbitmqctl -q set_permissions -p / "$AMQP_USER" ".*" ".*" ".*" >/dev/null
    amqp_user_ok || die "RabbitMQ user '$AMQP_USER' still cannot use the management API"
fi

# guest: RabbitMQ's own administrator with a well-known password. Nothing here uses
# it; it is deleted unless LIBRARY_KEEP_GUEST=1 (local development only: it keeps
# guest if it is still there, it does not bring it back).
if [ "${LIBRARY_KEEP_GUEST:-}" = 1 ]; then
    log "keeping RabbitMQ user 'guest' (LIBRARY_KEEP_GUEST=1: local development only)"
else
    [ "$AMQP_USER" != guest ] || die "LIBRARY_AMQP_USER=guest: guest is deleted, pick another name"
    case "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X DELETE \
        -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/users/guest")" in
        204) log "deleted RabbitMQ user 'guest' (LIBRARY_KEEP_GUEST=1 keeps it, for local development)" ;;
        404) log "no RabbitMQ user 'guest'" ;;
        *) die "could not delete RabbitMQ user 'guest' through $MGMT_URL" ;;
    esac
fi

# ---------------------------------------------------------------- PostgreSQL
# Debian's own cluster tools: they run the server as the postgres user
# (postgres refuses to run as root) and know where config/data/logs live.
PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
pg_status() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}'; }
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
# psql as the postgres superuser over the local socket (peer auth). cd / so
# postgres does not complain about not being able to read our cwd.
pg_admin() { (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"); }

if [ -z "$(pg_status)" ]; then
    log "creating PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster -p "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
fi

current_max="$(pg_conftool -s "$PG_VERSION" "$PG_CLUSTER" show max_connections 2>/dev/null || echo unset)"
if [ "$current_max" != "$PG_MAX_CONNECTIONS" ]; then
    log "setting max_connections = $PG_MAX_CONNECTIONS (was $current_max)"
    pg_conftool "$PG_VERSION" "$PG_CLUSTER" set max_connections "$PG_MAX_CONNECTIONS"
    # max_connections only takes effect on restart.
    if [[ "$(pg_status)" == online* ]]; then
        log "restarting PostgreSQL to apply max_connections"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart
    fi
fi

if [[ "$(pg_status)" == online* ]]; then
    log "PostgreSQL $PG_VERSION/$PG_CLUSTER already running"
else
    log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
fi
if ! wait_until "$PG_TIMEOUT" "PostgreSQL" pg_ready; then
    tail -n 30 "/var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log" >&2 || true
    die "PostgreSQL not accepting connections on 127.0.0.1:$PG_PORT within ${PG_TIMEOUT}s"
fi

# Role: create or reset its password (cheap, keeps env changes effective).
# The password goes through a psql variable, so quoting is handled by psql.
if [ "$(pg_admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" = 1 ]; then
    pg_admin -v pw="$DB_PASSWORD" <<<"ALTER ROLE $DB_ROLE LOGIN CREATEDB PASSWORD :'pw';"
else
    log "creating PostgreSQL role '$DB_ROLE'"
    pg_admin -v pw="$DB_PASSWORD" <<<"CREATE ROLE $DB_ROLE LOGIN CREATEDB PASSWORD :'pw';"
fi

for db in "${DATABASES[@]}"; do
    if [ "$(pg_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        log "creating database $db"
        pg_admin -c "CREATE DATABASE $db OWNER $DB_ROLE"
    fi
done

# Services connect over TCP with a password: prove that path works.
for db in "${DATABASES[@]}"; do
    PGPASSWORD="$DB_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_ROLE" -d "$db" \
        -tA -c 'select 1' >/dev/null \
        || die "cannot log in as '$DB_ROLE' to $db over TCP (check pg_hba.conf / password)"
done
log "PostgreSQL role '$DB_ROLE' and ${#DATABASES[@]} databases ok"

# ---------------------------------------------------------------- schema + topology
# Written by the Python side; only run once they exist. Failures fail up.sh.
run_module() {
    local module="$1" file="$2"
    if [ ! -f "$file" ]; then
        log "skipping $module ($file not written yet)"
        return 0
    fi
    [ -x .venv/bin/python ] || die "$file exists but .venv is missing: run 'make venv' first"
    log "running $module"
    .venv/bin/python -m "$module" || die "$module failed (exit $?)"
}
run_module shared.migrate shared/migrate.py
run_module shared.topology shared/topology.py
run_module shared.permissions shared/permissions.py

log "up: RabbitMQ amqp://$AMQP_USER@127.0.0.1:5672/ (mgmt $MGMT_URL), PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT (role $DB_ROLE, ${DATABASES[*]}) in ${SECONDS}s"
