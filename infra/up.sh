#!/usr/bin/env bash
# Bring up the local infrastructure: RabbitMQ (+ management API) and PostgreSQL
# with each service's role and database where its DSN says (the main cluster by
# default), then apply the SQL migrations and the RabbitMQ topology. Idempotent:
# a second run only checks that everything answers, and takes a few seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

AMQP_USER="${LIBRARY_AMQP_USER:-library}"
AMQP_PASSWORD="${LIBRARY_AMQP_PASSWORD:-library}"
DB_PASSWORD="${LIBRARY_DB_PASSWORD:-library}"
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

# ---------------------------------------------------------------- each service's database
# Each service's DSN (CATALOG_DSN, ...; infra/config.yml) names its own server, so
# the four databases may be on four servers. A DSN on this machine (127.0.0.1,
# localhost) gets its role and database here, on the local cluster listening on its
# port: the main one above, or one made by infra/extra_postgres.sh (started if it is
# down). A DSN on another host is its server administrator's to create: it is only
# checked and migrated. The role's password is the DSN's (LIBRARY_DB_PASSWORD when
# the DSN has none), so the services' own address is the one that gets in.
[ -x .venv/bin/python ] || die ".venv is missing: run 'make venv' first (it reads each service's DSN)"
cluster_on_port() {
    pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v p="$1" '$1==v && $3==p {print $2}'
}
cluster_online() {
    pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$1" '$1==v && $2==c {print $4}' \
        | grep -q '^online'
}
# psql as the postgres superuser on the local cluster listening on port $1.
admin_on() { local port="$1"; shift; (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"); }

plan="$(.venv/bin/python -m shared.storage.servers plan)" \
    || die "could not read the services' DSNs (python -m shared.storage.servers plan)"
summary=()
while IFS=$'\x1f' read -r -u 3 service where host port role password db; do
    [ -n "$service" ] || continue
    if [ "$where" = remote ]; then
        log "$service: $db on $host:$port is not on this machine: not created here, checked and migrated"
        summary+=("$service=$host:$port/$db")
        continue
    fi
    [[ "$role" =~ ^[a-z_][a-z0-9_]*$ && "$db" =~ ^[a-z_][a-z0-9_]*$ ]] \
        || die "$service's DSN: role '$role' and database '$db' must be lower-case letters, digits and _"
    cluster="$(cluster_on_port "$port")"
    [ -n "$cluster" ] || die "$service's DSN names port $port on this machine, where no PostgreSQL cluster is: \
start one (infra/extra_postgres.sh start NAME $port) or change ${service^^}_DSN"
    if ! cluster_online "$cluster"; then
        log "starting PostgreSQL $PG_VERSION/$cluster (port $port, $service's)"
        pg_ctlcluster "$PG_VERSION" "$cluster" start
        wait_until "$PG_TIMEOUT" "PostgreSQL on port $port" pg_isready -q -h 127.0.0.1 -p "$port" \
            || die "PostgreSQL $PG_VERSION/$cluster not accepting connections on port $port"
    fi
    # Create the role or reset its password (cheap, keeps env changes effective). The
    # password goes through a psql variable, so quoting is handled by psql.
    if [ "$(admin_on "$port" -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" = 1 ]; then
        admin_on "$port" -v pw="${password:-$DB_PASSWORD}" <<<"ALTER ROLE $role LOGIN CREATEDB PASSWORD :'pw';"
    else
        log "creating PostgreSQL role '$role' on port $port"
        admin_on "$port" -v pw="${password:-$DB_PASSWORD}" <<<"CREATE ROLE $role LOGIN CREATEDB PASSWORD :'pw';"
    fi
    if [ "$(admin_on "$port" -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
        log "creating database $db on port $port"
        admin_on "$port" -c "CREATE DATABASE $db OWNER $role"
    fi
    summary+=("$service=$cluster:$port/$db")
done 3<<<"$plan"

# Services connect over TCP with their DSN's password: prove that path works, each
# with its own DSN.
.venv/bin/python -m shared.storage.servers check \
    || die "a service cannot log in to its database with its DSN (check pg_hba.conf / password)"
log "PostgreSQL databases ok: ${summary[*]}"

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
run_module shared.storage.migrate shared/storage/migrate.py
run_module shared.runtime.topology shared/runtime/topology.py
run_module shared.runtime.permissions shared/runtime/permissions.py

log "up: RabbitMQ amqp://$AMQP_USER@127.0.0.1:5672/ (mgmt $MGMT_URL), PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT (${summary[*]}) in ${SECONDS}s"
