#!/usr/bin/env bash
# Run the nameko services under supervisord, one program per service instance.
#
#   infra/services.sh start  [spec...]   start (skips instances already running), wait for health
#   infra/services.sh stop   [spec...]   stop them (SIGTERM, SIGKILL after 15 s); no spec: all, and supervisord
#   infra/services.sh status [spec...]   supervisord's state per instance; exit 1 if any is not RUNNING
#
# spec = <service> or <service>@<instance> (e.g. circulation@2 runs a second
# circulation process; instances share the service's queues). Without specs:
# start/status use the five services, the gateway (start also waits until its
# HTTP port answers) and the SIP2 server; stop/status also cover every program.
# supervisord (one per run dir, started on demand) restarts an instance that dies.
# Config: .run/supervisor/ (a file per spec in programs/), socket .run/supervisor/supervisor.sock
# Logs: .run/logs/<spec>.log, rotated at 10 MB, 5 kept (LIBRARY_RUN_DIR moves .run)
# Each process logs in to RabbitMQ as its service's own user (AMQP_URI from
# `python -m shared.runtime.permissions uri <service>`), never as the administrator,
# and knows its instance from LIBRARY_INSTANCE (1, or N for <service>@N).
# supervisord keeps the environment of the `start` that started it (the DSNs...).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

DEFAULT_SERVICES=(catalog circulation activities archives accounts gateway sip2)
RUN_DIR="$(realpath -m "${LIBRARY_RUN_DIR:-.run}")"
LOG_DIR="$RUN_DIR/logs"
SUPERVISOR_DIR="$RUN_DIR/supervisor"
PROGRAM_DIR="$SUPERVISOR_DIR/programs"
SUPERVISOR_CONF="$SUPERVISOR_DIR/supervisord.conf"
SOCKET="$SUPERVISOR_DIR/supervisor.sock"
LEGACY_PID_DIR="$RUN_DIR/pids"  # the runner before supervisord: stopped by `stop`
CONFIG=infra/config.yml
# Overridable for slow CI machines.
HEALTH_TIMEOUT="${SERVICES_HEALTH_TIMEOUT:-60}"
STOP_TIMEOUT="${SERVICES_STOP_TIMEOUT:-15}"
# Restart policy: an instance up for STARTSECS is RUNNING; one that dies then is
# started again at once, one that dies sooner is retried STARTRETRIES times, waiting
# 1, 2, 3... s (supervisord's backoff) before it is left FATAL.
STARTSECS=3
STARTRETRIES=5
LOG_MAXBYTES=10MB
LOG_BACKUPS=5

log() { printf '[services] %s\n' "$*"; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

service_of() { printf '%s' "${1%%@*}"; }
instance_of() { [[ "$1" == *@* ]] && printf '%s' "${1#*@}" || printf '1'; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }
program_file() { printf '%s/%s.conf' "$PROGRAM_DIR" "$1"; }

validate_spec() {
    local spec="$1" name
    name="$(service_of "$spec")"
    [[ "$spec" =~ ^[a-z_][a-z0-9_]*(@[A-Za-z0-9_-]+)?$ ]] || die "bad service spec '$spec' (expected name or name@instance)"
    [ -d "services/$name" ] || die "unknown service '$name' (no services/$name/)"
}

ctl() { .venv/bin/supervisorctl -c "$SUPERVISOR_CONF" "$@"; }

supervisord_running() {
    [ -S "$SOCKET" ] && [ -f "$SUPERVISOR_CONF" ] && ctl pid 2>/dev/null | grep -qx '[0-9]\+'
}

# A value for supervisord's config: its own %-expansion doubled, quoted for its parser.
conf_value() {
    local value="${1//%/%%}"
    value="${value//\\/\\\\}"
    printf '"%s"' "${value//\"/\\\"}"
}

write_supervisord_conf() {
    mkdir -p "$PROGRAM_DIR" "$LOG_DIR"
    # A unix socket's path must fit in 108 bytes.
    [ "${#SOCKET}" -lt 100 ] || die "run dir too deep for supervisord's socket: $SOCKET"
    cat >"$SUPERVISOR_CONF" <<EOF
; Written by infra/services.sh: one supervisord per run dir; programs in programs/.
[unix_http_server]
file=$SOCKET
chmod=0700

[supervisord]
logfile=$SUPERVISOR_DIR/supervisord.log
logfile_maxbytes=$LOG_MAXBYTES
logfile_backups=$LOG_BACKUPS
pidfile=$SUPERVISOR_DIR/supervisord.pid
directory=$REPO_ROOT
childlogdir=$LOG_DIR

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$SOCKET

[include]
files = programs/*.conf
EOF
}

# The instances a supervisord of this run dir started and left running when it died
# (kill -9: its children live on), as "<pid> <spec>" lines: each carries the socket it
# was given (SUPERVISOR_SERVER_URL) and its program's name (SUPERVISOR_PROCESS_NAME);
# the running supervisord's own children (their parent) are not orphans.
orphans() {
    local environ pid vars name parent current=""
    supervisord_running && current="$(ctl pid)"
    for environ in /proc/[0-9]*/environ; do
        pid="${environ#/proc/}"; pid="${pid%/environ}"
        vars="$(tr '\0' '\n' 2>/dev/null < "$environ")" || continue  # gone meanwhile
        grep -qxF "SUPERVISOR_SERVER_URL=unix://$SOCKET" <<<"$vars" || continue
        parent="$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)" || continue
        [ -n "$current" ] && [ "$parent" = "$current" ] && continue
        name="$(sed -n 's/^SUPERVISOR_PROCESS_NAME=//p' <<<"$vars")"
        echo "$pid ${name:-?}"
    done
}

# Stop the orphans of the given specs (all without specs): SIGTERM, SIGKILL after
# STOP_TIMEOUT; a new supervisord would otherwise start a second of each. Orphans of
# other specs are named and left.
stop_orphans() {
    local specs=("$@") pids=() others=() alive=() pid name start
    while read -r pid name; do
        if [ "${#specs[@]}" -eq 0 ] || [[ " ${specs[*]} " == *" $name "* ]]; then
            pids+=("$pid")
        else
            others+=("$name (pid $pid)")
        fi
    done < <(orphans)
    [ "${#others[@]}" -eq 0 ] \
        || log "left running by a supervisord that is gone, unsupervised: ${others[*]} ('infra/services.sh stop' stops them)"
    [ "${#pids[@]}" -gt 0 ] || return 0
    log "stopping ${#pids[@]} instance(s) left running by a supervisord that is gone (pids ${pids[*]})"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    start=$SECONDS
    while :; do
        alive=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        [ "${#alive[@]}" -gt 0 ] || return 0
        (( SECONDS - start < STOP_TIMEOUT )) || break
        sleep 0.2
    done
    log "killing ${alive[*]} (still running after ${STOP_TIMEOUT}s)"
    kill -KILL "${alive[@]}" 2>/dev/null || true
}

ensure_supervisord() {
    supervisord_running && return 0
    [ -x .venv/bin/supervisord ] || die ".venv/bin/supervisord missing: run 'make venv' first"
    write_supervisord_conf
    rm -f "$PROGRAM_DIR"/*.conf  # programs of a supervisord that is gone: started anew below
    # supervisord detaches itself (own session: Ctrl-C or the end of a make recipe
    # does not take it down); its programs inherit this environment.
    .venv/bin/supervisord -c "$SUPERVISOR_CONF" </dev/null >>"$SUPERVISOR_DIR/supervisord.out" 2>&1 \
        || die "supervisord did not start (see $SUPERVISOR_DIR/supervisord.log)"
    local start=$SECONDS
    until supervisord_running; do
        (( SECONDS - start < 15 )) || die "supervisord does not answer on $SOCKET (see $SUPERVISOR_DIR/supervisord.log)"
        sleep 0.2
    done
    log "supervisord running (pid $(ctl pid), config $SUPERVISOR_CONF)"
}

# One [program:<spec>]: the service's own broker user, its instance, restart and logs.
write_program() {
    local spec="$1" name uri
    name="$(service_of "$spec")"
    [ -x .venv/bin/nameko ] || die ".venv/bin/nameko missing: run 'make venv' first"
    [ -f "services/$name/service.py" ] || die "services/$name/service.py does not exist"
    # The service's own RabbitMQ user (its rights: shared/runtime/permissions.py), on the
    # broker and virtual host of the config's AMQP_URI.
    uri="$(LIBRARY_CONFIG="$CONFIG" .venv/bin/python -W ignore -m shared.runtime.permissions uri "$name")" \
        || die "no RabbitMQ user for '$name' (RABBIT_USERS in $CONFIG)"
    # The marker line lets a failed start show only this run's output (tail_log).
    cat >"$(program_file "$spec")" <<EOF
[program:$spec]
command=/bin/bash -c 'printf "===== %%s starting %%s =====\\n" "\$(date -Is)" "\$0"; exec "\$@"' $spec $REPO_ROOT/.venv/bin/nameko run --config $CONFIG services.$name.service
directory=$REPO_ROOT
environment=AMQP_URI=$(conf_value "$uri"),LIBRARY_INSTANCE=$(conf_value "$(instance_of "$spec")")
autostart=true
autorestart=true
startsecs=$STARTSECS
startretries=$STARTRETRIES
stopsignal=TERM
stopwaitsecs=$STOP_TIMEOUT
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile=$(log_file "$spec")
stdout_logfile_maxbytes=$LOG_MAXBYTES
stdout_logfile_backups=$LOG_BACKUPS
EOF
}

# supervisord's state of a spec (RUNNING, STARTING, BACKOFF, FATAL...), ABSENT if it has none.
state_of() {
    local line
    line="$(ctl status "$1" 2>/dev/null || true)"
    case "$line" in
        "$1 "*) awk '{print $2}' <<<"$line" ;;
        *) printf 'ABSENT' ;;
    esac
}

tail_log() {
    local spec="$1"
    printf '[services] ---- last lines of %s ----\n' "$(log_file "$spec")" >&2
    # Only this run's output: the log is appended to, with a marker per start.
    awk '/^===== .* starting /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' \
        "$(log_file "$spec")" 2>/dev/null | tail -n 40 >&2 || true
    printf '[services] ----\n' >&2
}

# Fail fast naming the first started instance that died (supervisord retries it
# meanwhile, but a start that crashes is a fault to show, not to wait out).
check_alive() {
    local spec state
    for spec in "$@"; do
        state="$(state_of "$spec")"
        case "$state" in
            RUNNING|STARTING) ;;
            *)
                tail_log "$spec"
                die "$spec exited during startup ($state; see $(log_file "$spec"))"
                ;;
        esac
    done
}

cmd_start() {
    local specs=("$@") spec state
    [ "${#specs[@]}" -gt 0 ] || specs=("${DEFAULT_SERVICES[@]}")
    for spec in "${specs[@]}"; do validate_spec "$spec"; done
    stop_orphans "${specs[@]}"
    ensure_supervisord

    local added=()
    for spec in "${specs[@]}"; do
        state="$(state_of "$spec")"
        case "$state" in
            RUNNING|STARTING)
                log "$spec already running ($(ctl status "$spec" | awk '{$1=$2=""; sub(/^ +/, ""); print}'))"
                continue
                ;;
            ABSENT) ;;
            *)  # stopped, given up or retrying: configured afresh
                ctl stop "$spec" >/dev/null 2>&1 || true
                ctl remove "$spec" >/dev/null
                ;;
        esac
        write_program "$spec"
        added+=("$spec")
    done
    if [ "${#added[@]}" -gt 0 ]; then
        # Adds only these programs (autostart), whatever else changed on disk.
        ctl update "${added[@]}" >/dev/null
        for spec in "${added[@]}"; do
            log "started $spec (log $(log_file "$spec"))"
        done
    fi

    # Distinct service names: health is asked per service, not per instance.
    local names=() name
    for spec in "${specs[@]}"; do
        name="$(service_of "$spec")"
        [[ " ${names[*]} " == *" $name "* ]] || names+=("$name")
    done

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

# Processes of the pid-file runner this script replaced (a demo started before it).
stop_legacy() {
    local f pid
    [ -d "$LEGACY_PID_DIR" ] || return 0
    for f in "$LEGACY_PID_DIR"/*.pid; do
        [ -e "$f" ] || continue
        pid="$(tr -dc '0-9' <"$f")"
        if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q nameko; then
            log "stopping $(basename "$f" .pid) (pid $pid, started before supervisord)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$LEGACY_PID_DIR"
}

cmd_stop() {
    local specs=("$@") spec
    for spec in "${specs[@]}"; do validate_spec "$spec"; done
    if [ "${#specs[@]}" -eq 0 ]; then
        stop_legacy
        stop_orphans
        if ! supervisord_running; then
            log "nothing more to stop (supervisord not running)"
            return 0
        fi
        # `stop all` signals every program at once (SIGKILL after stopwaitsecs); a
        # shutdown alone would stop them one after another.
        local pid
        pid="$(ctl pid)"
        log "stopping every program, then supervisord (pid $pid)"
        ctl stop all >/dev/null || true
        ctl shutdown >/dev/null
        local start=$SECONDS
        while kill -0 "$pid" 2>/dev/null; do
            (( SECONDS - start < STOP_TIMEOUT + 15 )) || die "supervisord (pid $pid) did not exit"
            sleep 0.2
        done
        rm -f "$PROGRAM_DIR"/*.conf
        return 0
    fi
    stop_orphans "${specs[@]}"
    if ! supervisord_running; then
        log "nothing more to stop (supervisord not running)"
        return 0
    fi
    # One supervisorctl a spec, so the instances shut down in parallel.
    for spec in "${specs[@]}"; do
        if [ "$(state_of "$spec")" = ABSENT ]; then
            log "$spec not running"
            continue
        fi
        log "stopping $spec"
        ctl stop "$spec" >/dev/null &
    done
    wait
    for spec in "${specs[@]}"; do rm -f "$(program_file "$spec")"; done
    ctl update "${specs[@]}" >/dev/null  # forgets the programs whose file is gone
    if [ -z "$(ctl status 2>/dev/null || true)" ]; then
        log "no program left: stopping supervisord"
        ctl shutdown >/dev/null
    fi
}

cmd_status() {
    local specs=("$@") spec rc=0 line
    if ! supervisord_running; then
        [ "${#specs[@]}" -gt 0 ] || specs=("${DEFAULT_SERVICES[@]}")
        for spec in "${specs[@]}"; do
            printf '%-33sSTOPPED   supervisord not running (%s)\n' "$spec" "$SOCKET"
        done
        return 1
    fi
    if [ "${#specs[@]}" -eq 0 ]; then
        # The defaults plus any other program (circulation@2...).
        specs=("${DEFAULT_SERVICES[@]}")
        while read -r spec _; do
            [[ " ${specs[*]} " == *" $spec "* ]] || specs+=("$spec")
        done < <(ctl status 2>/dev/null || true)
    fi
    for spec in "${specs[@]}"; do
        line="$(ctl status "$spec" 2>/dev/null || true)"
        if [[ "$line" == "$spec "* ]]; then
            printf '%s\n' "$line"
            [ "$(awk '{print $2}' <<<"$line")" = RUNNING ] || rc=1
        else
            printf '%-33sSTOPPED   not configured\n' "$spec"
            rc=1
        fi
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
