#!/usr/bin/env bash
# Run the nameko services in the background, one process per service instance.
#
#   infra/services.sh start  [spec...]   start (skips instances already running), wait for health
#   infra/services.sh stop   [spec...]   SIGTERM, then SIGKILL after 15 s
#   infra/services.sh status [spec...]   one line per instance; exit 1 if any is not alive
#
# spec = <service> or <service>@<instance> (e.g. circulation@2 runs a second
# circulation process; instances share the service's queues). Without specs:
# start/status use the five services, the gateway (start also waits until its
# HTTP port answers) and the SIP2 server; stop/status also cover every pid file.
# Logs: .run/logs/<spec>.log   pids: .run/pids/<spec>.pid (LIBRARY_RUN_DIR moves .run)
# Each process logs in to RabbitMQ as its service's own user (AMQP_URI from
# `python -m shared.runtime.permissions uri <service>`), never as the administrator.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

DEFAULT_SERVICES=(catalog circulation activities archives accounts gateway sip2)
RUN_DIR="${LIBRARY_RUN_DIR:-.run}"
PID_DIR="$RUN_DIR/pids"
LOG_DIR="$RUN_DIR/logs"
CONFIG=infra/config.yml
# Overridable for slow CI machines.
HEALTH_TIMEOUT="${SERVICES_HEALTH_TIMEOUT:-60}"
STOP_TIMEOUT="${SERVICES_STOP_TIMEOUT:-15}"

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

service_of() { printf '%s' "${1%%@*}"; }
pid_file() { printf '%s/%s.pid' "$PID_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

validate_spec() {
    local spec="$1" name
    name="$(service_of "$spec")"
    [[ "$spec" =~ ^[a-z_][a-z0-9_]*(@[A-Za-z0-9_-]+)?$ ]] || die "bad service spec '$spec' (expected name or name@instance)"
    [ -d "services/$name" ] || die "unknown service '$name' (no services/$name/)"
}

# Pid recorded for a spec, or empty.
read_pid() {
    local f
    f="$(pid_file "$1")"
    [ -f "$f" ] && tr -dc '0-9' <"$f" || true
}

# Alive = the process exists AND is still a nameko process (a stale pid file
# could otherwise point at an unrelated process that reused the pid).
is_alive() {
    local pid="$1"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q nameko
}

# Specs that currently have a pid file (for stop/status without arguments).
specs_with_pid_files() {
    local f
    for f in "$PID_DIR"/*.pid; do
        [ -e "$f" ] && basename "$f" .pid
    done
    return 0
}

tail_log() {
    local spec="$1"
    printf '[services] ---- last lines of %s ----\n' "$(log_file "$spec")" >&2
    # Only this run's output: the log is appended to, with a marker per start.
    awk '/^===== .* starting /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' \
        "$(log_file "$spec")" 2>/dev/null | tail -n 40 >&2 || true
    printf '[services] ----\n' >&2
}

start_one() {
    local spec="$1" name pid
    name="$(service_of "$spec")"
    pid="$(read_pid "$spec")"
    if is_alive "$pid"; then
        log "$spec already running (pid $pid)"
        return 0
    fi
    [ -x .venv/bin/nameko ] || die ".venv/bin/nameko missing: run 'make venv' first"
    [ -f "services/$name/service.py" ] || die "services/$name/service.py does not exist"
    # The service's own RabbitMQ user (its rights: shared/runtime/permissions.py), on the
    # broker and virtual host of the config's AMQP_URI.
    local uri
    uri="$(LIBRARY_CONFIG="$CONFIG" .venv/bin/python -W ignore -m shared.runtime.permissions uri "$name")" \
        || die "no RabbitMQ user for '$name' (RABBIT_USERS in $CONFIG)"
    rm -f "$(pid_file "$spec")"  # stale: must not be mistaken for the new pid below
    printf '===== %s starting %s =====\n' "$(date -Is)" "$spec" >>"$(log_file "$spec")"
    # setsid: own session, so Ctrl-C in the calling terminal or the end of a make
    # recipe does not take the service down. The shell writes its own pid and
    # then execs nameko, so the pid file holds the nameko process itself.
    AMQP_URI="$uri" setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$(pid_file "$spec")" \
        .venv/bin/nameko run --config "$CONFIG" "services.$name.service" \
        </dev/null >>"$(log_file "$spec")" 2>&1 &
    # Wait (briefly) for the pid file so later checks see it.
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        [ -s "$(pid_file "$spec")" ] && break
        sleep 0.1
    done
    log "started $spec (pid $(read_pid "$spec"), log $(log_file "$spec"))"
}

# Fail fast naming the first started instance that died.
check_alive() {
    local spec
    for spec in "$@"; do
        if ! is_alive "$(read_pid "$spec")"; then
            tail_log "$spec"
            die "$spec exited during startup (see $(log_file "$spec"))"
        fi
    done
}

cmd_start() {
    local specs=("$@") spec
    [ "${#specs[@]}" -gt 0 ] || specs=("${DEFAULT_SERVICES[@]}")
    for spec in "${specs[@]}"; do validate_spec "$spec"; done
    mkdir -p "$PID_DIR" "$LOG_DIR"
    for spec in "${specs[@]}"; do start_one "$spec"; done

    # Distinct service names: health is asked per service, not per instance.
    local names=() name
    for spec in "${specs[@]}"; do
        name="$(service_of "$spec")"
        [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
    done

    if [ ! -f shared/runtime/health.py ]; then
        # No health RPC yet: the best we can do is check the processes stay up.
        sleep 3
        check_alive "${specs[@]}"
        log "running (no shared/runtime/health.py yet, only checked the processes are alive): ${specs[*]}"
        return 0
    fi

    log "waiting for health RPC: ${names[*]} (up to ${HEALTH_TIMEOUT}s)"
    local start=$SECONDS
    until timeout 15 .venv/bin/python -m shared.runtime.health "${names[@]}" >/dev/null 2>&1; do
        check_alive "${specs[@]}"
        if (( SECONDS - start >= HEALTH_TIMEOUT )); then
            # Name the services that still do not answer, with their logs.
            local bad=()
            for name in "${names[@]}"; do
                timeout 15 .venv/bin/python -m shared.runtime.health "$name" >/dev/null 2>&1 || bad+=("$name")
            done
            for spec in "${specs[@]}"; do
                [[ " ${bad[*]} " == *" $(service_of "$spec") "* ]] && tail_log "$spec"
            done
            die "no health answer within ${HEALTH_TIMEOUT}s from: ${bad[*]:-${names[*]}} (logs in $LOG_DIR/)"
        fi
        sleep 1
    done
    log "healthy after $(( SECONDS - start ))s: ${names[*]}"
    if [[ " ${names[*]} " == *" gateway "* ]]; then
        wait_for_http "${specs[@]}"
    fi
}

# The gateway's address as a browser on this machine reaches it (WEB_SERVER_ADDRESS).
gateway_url() {
    .venv/bin/python -c 'import sys
from shared.cli.status import web_address
from shared.config import load_config
print(web_address(load_config(sys.argv[1])))' "$CONFIG" 2>/dev/null
}

# The gateway answers its health RPC as soon as its container runs; a browser
# needs its HTTP port too. Any HTTP answer will do.
wait_for_http() {
    local url start=$SECONDS
    url="$(gateway_url)" || die "cannot read the gateway's address (WEB_SERVER_ADDRESS) from $CONFIG"
    until curl -s -o /dev/null -m 2 "$url/"; do
        check_alive "$@"
        if (( SECONDS - start >= HEALTH_TIMEOUT )); then
            local spec
            for spec in "$@"; do
                [ "$(service_of "$spec")" = gateway ] && tail_log "$spec"
            done
            die "the gateway answers RPC but nothing answers HTTP at $url within ${HEALTH_TIMEOUT}s"
        fi
        sleep 0.5
    done
    log "gateway answering at $url"
}

stop_one() {
    local spec="$1" pid
    pid="$(read_pid "$spec")"
    if ! is_alive "$pid"; then
        [ -f "$(pid_file "$spec")" ] && log "$spec not running (removing stale pid file)"
        rm -f "$(pid_file "$spec")"
        return 0
    fi
    log "stopping $spec (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local start=$SECONDS
    while is_alive "$pid"; do
        if (( SECONDS - start >= STOP_TIMEOUT )); then
            log "$spec did not stop within ${STOP_TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    rm -f "$(pid_file "$spec")"
}

cmd_stop() {
    local specs=("$@") spec
    if [ "${#specs[@]}" -eq 0 ]; then
        mapfile -t specs < <(specs_with_pid_files)
    fi
    if [ "${#specs[@]}" -eq 0 ]; then
        log "nothing to stop"
        return 0
    fi
    # TERM everything first so the instances shut down in parallel.
    for spec in "${specs[@]}"; do
        validate_spec "$spec"
        stop_one "$spec" &
    done
    wait
}

cmd_status() {
    local specs=("$@") spec pid state rc=0
    if [ "${#specs[@]}" -eq 0 ]; then
        # The defaults plus any extra instance that has a pid file.
        specs=("${DEFAULT_SERVICES[@]}")
        while read -r spec; do
            [[ " ${specs[*]} " == *" $spec "* ]] || specs+=("$spec")
        done < <(specs_with_pid_files)
    fi
    for spec in "${specs[@]}"; do
        pid="$(read_pid "$spec")"
        if is_alive "$pid"; then
            state=alive
        elif [ -n "$pid" ]; then
            state="dead (stale pid file)"; rc=1
        else
            state=stopped; rc=1
        fi
        printf '%-20s pid %-8s %s\n' "$spec" "${pid:--}" "$state"
    done
    return "$rc"
}

[ $# -ge 1 ] || usage
action="$1"
shift
case "$action" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    -h|--help|help) usage ;;
    *) usage ;;
esac
