#!/usr/bin/env bash
# A second (third...) RabbitMQ node on this machine, beside the one infra/up.sh runs.
#
#   infra/extra_rabbit.sh start  NAME NODE_PORT   start NAME@localhost (if not running), wait, create the user
#   infra/extra_rabbit.sh stop   NAME NODE_PORT   stop the node (data kept)
#   infra/extra_rabbit.sh status NAME NODE_PORT   exit 0 when the node answers
#   infra/extra_rabbit.sh drop   NAME NODE_PORT   stop it and remove .run/rabbit/NAME
#
# Ports follow RabbitMQ's own convention: AMQP on NODE_PORT, management API on
# NODE_PORT + 10000, Erlang distribution on NODE_PORT + 20000 (5682 -> 15682, 25682).
# Everything the node writes lives under .run/rabbit/NAME (mnesia/, log/, the
# config file, the enabled-plugins file, the pid file). The node runs as root
# with a copy of the system node's Erlang cookie, so `rabbitmqctl -n NAME@localhost`
# works from the Debian wrapper too, and the nodes can later be clustered.
# Used by the fault tests (tests/faults) for a broker they may restart; safe to
# run twice. User and password: LIBRARY_AMQP_USER / LIBRARY_AMQP_PASSWORD
# (default library/library), an administrator with full rights on "/". RabbitMQ's
# own guest user is deleted, as infra/up.sh does (kept with LIBRARY_KEEP_GUEST=1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -eq 3 ] || usage
ACTION="$1" NAME="$2" NODE_PORT="$3"
[[ "$NAME" =~ ^[a-z][a-z0-9_-]*$ ]] || die "bad node name '$NAME' (lower-case letters, digits, _ and -)"
[[ "$NODE_PORT" =~ ^[0-9]+$ ]] && (( NODE_PORT > 1024 && NODE_PORT < 45536 )) \
    || die "bad port '$NODE_PORT' (1025..45535, so that + 20000 is a port too)"
[ "$NAME" != rabbit ] || die "'rabbit' is the system node's name; pick another"

AMQP_USER="${LIBRARY_AMQP_USER:-library}"
AMQP_PASSWORD="${LIBRARY_AMQP_PASSWORD:-library}"
MGMT_PORT=$((NODE_PORT + 10000))
DIST_PORT=$((NODE_PORT + 20000))
NODE="$NAME@localhost"
BASE="$REPO_ROOT/.run/rabbit/$NAME"
MGMT_URL="http://127.0.0.1:$MGMT_PORT"
SYSTEM_COOKIE=/var/lib/rabbitmq/.erlang.cookie
RABBIT_BIN=/usr/lib/rabbitmq/bin
TIMEOUT="${EXTRA_RABBIT_TIMEOUT:-90}"

# The node and its CLI tools read everything from these; nothing from /etc/rabbitmq.
export HOME="$BASE"
export RABBITMQ_NODENAME="$NODE"
export RABBITMQ_NODE_PORT="$NODE_PORT"
export RABBITMQ_DIST_PORT="$DIST_PORT"
export RABBITMQ_CONFIG_FILE="$BASE/rabbitmq.conf"
export RABBITMQ_ADVANCED_CONFIG_FILE="$BASE/advanced.config"
export RABBITMQ_CONF_ENV_FILE="$BASE/rabbitmq-env.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins"
export RABBITMQ_MNESIA_BASE="$BASE/mnesia"
export RABBITMQ_LOG_BASE="$BASE/log"
export RABBITMQ_PID_FILE="$BASE/$NAME.pid"

ctl() { "$RABBIT_BIN/rabbitmqctl" -q -n "$NODE" "$@"; }
node_answers() { "$RABBIT_BIN/rabbitmq-diagnostics" -q -n "$NODE" ping -t 5 >/dev/null 2>&1; }
mgmt_ok() { curl -fsS -o /dev/null -m 5 -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/overview"; }
# Without ss (iproute2) the check is skipped and a clash shows in the node's log.
port_taken() { command -v ss >/dev/null && ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# The CLI tools need the cookie too, so every action starts here.
ensure_cookie() {
    [ -r "$SYSTEM_COOKIE" ] || die "no $SYSTEM_COOKIE: install and start RabbitMQ first (infra/up.sh)"
    mkdir -p "$BASE"
    if ! cmp -s "$SYSTEM_COOKIE" "$BASE/.erlang.cookie" 2>/dev/null; then
        install -m 0400 "$SYSTEM_COOKIE" "$BASE/.erlang.cookie"
    fi
}

write_files() {
    mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
    # Statistics every second (default 5 s): tests wait on queue depths from the API.
    cat >"$RABBITMQ_CONFIG_FILE" <<EOF
# Written by infra/extra_rabbit.sh; rewritten on every start.
listeners.tcp.default = $NODE_PORT
management.tcp.port = $MGMT_PORT
collect_statistics_interval = 1000
log.file.level = info
log.console = false
EOF
    printf '[].\n' >"$RABBITMQ_ADVANCED_CONFIG_FILE"
    : >"$RABBITMQ_CONF_ENV_FILE"
    printf '[rabbitmq_management].\n' >"$RABBITMQ_ENABLED_PLUGINS_FILE"
}

ensure_user() {
    if curl -fsS -m 5 -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/whoami" 2>/dev/null \
        | grep -q administrator; then
        return 0
    fi
    if ctl list_users 2>/dev/null | awk '{print $1}' | grep -qxF "$AMQP_USER"; then
        ctl change_password "$AMQP_USER" "$AMQP_PASSWORD" >/dev/null
    else
        log "creating user '$AMQP_USER' on $NODE"
        ctl add_user "$AMQP_USER" "$AMQP_PASSWORD" >/dev/null
    fi
    ctl set_user_tags "$AMQP_USER" administrator >/dev/null
    ctl set_permissions -p / "$AMQP_USER" ".*" ".*" ".*" >/dev/null
}

drop_guest() {
    [ "${LIBRARY_KEEP_GUEST:-}" != 1 ] && [ "$AMQP_USER" != guest ] || return 0
    case "$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X DELETE \
        -u "$AMQP_USER:$AMQP_PASSWORD" "$MGMT_URL/api/users/guest")" in
        204) log "deleted user 'guest' on $NODE" ;;
        404) ;;
        *) die "could not delete user 'guest' on $NODE through $MGMT_URL" ;;
    esac
}

cmd_start() {
    if node_answers; then
        log "$NODE already running"
    else
        local port
        for port in "$NODE_PORT" "$MGMT_PORT" "$DIST_PORT"; do
            port_taken "$port" && die "port $port is taken by another program (see: ss -ltnp)"
        done
        write_files
        log "starting $NODE (amqp $NODE_PORT, management $MGMT_PORT, distribution $DIST_PORT)"
        # Own session: the node outlives the shell (and the pytest run) that started it.
        setsid "$RABBIT_BIN/rabbitmq-server" </dev/null >>"$RABBITMQ_LOG_BASE/startup.log" 2>&1 &
        if ! wait_until "$TIMEOUT" "$NODE" node_answers; then
            tail -n 30 "$RABBITMQ_LOG_BASE/startup.log" "$RABBITMQ_LOG_BASE/$NODE.log" >&2 || true
            die "$NODE did not answer within ${TIMEOUT}s (logs: $RABBITMQ_LOG_BASE)"
        fi
        ctl await_startup --timeout "$TIMEOUT" >/dev/null \
            || die "$NODE is up but the broker did not finish booting within ${TIMEOUT}s"
    fi
    ensure_user
    wait_until "$TIMEOUT" "management API on $MGMT_PORT" mgmt_ok \
        || die "the management API of $NODE does not answer on $MGMT_URL"
    drop_guest
    log "$NODE: amqp://$AMQP_USER@127.0.0.1:$NODE_PORT/ (management $MGMT_URL)"
}

cmd_stop() {
    if ! node_answers; then
        log "$NODE not running"
        return 0
    fi
    log "stopping $NODE"
    # With the pid file, stop returns only once the OS process has exited.
    ctl stop "$RABBITMQ_PID_FILE" >/dev/null
}

cmd_status() {
    if node_answers; then
        log "$NODE running (amqp $NODE_PORT, management $MGMT_URL)"
    else
        log "$NODE not running"
        return 1
    fi
}

cmd_drop() {
    cmd_stop
    rm -rf "$BASE"
    log "removed $BASE"
}

ensure_cookie
case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    drop) cmd_drop ;;
    *) usage ;;
esac
