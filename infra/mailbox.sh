#!/usr/bin/env bash
# The demo's local mail box (shared/cli/mailbox.py): an SMTP server on 127.0.0.1:8025
# keeping each message the library sends (notices, docs/notices.md) as .run/mail/*.eml.
#
#   infra/mailbox.sh start   start it in the background unless it is running
#   infra/mailbox.sh stop    stop it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

RUN_DIR="${LIBRARY_RUN_DIR:-.run}"
PID_FILE="$RUN_DIR/mailbox.pid"  # not a service: infra/services.sh (supervisord) runs those
LOG_FILE="$RUN_DIR/logs/mailbox.log"
PORT="${MAILBOX_PORT:-8025}"

running() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q shared.cli.mailbox
}

case "${1:-}" in
    start)
        mkdir -p "$RUN_DIR/logs" "$RUN_DIR/mail"
        if running; then
            echo "[mailbox] already running (pid $(cat "$PID_FILE"))"
            exit 0
        fi
        setsid .venv/bin/python -W ignore -m shared.cli.mailbox --port "$PORT" \
            --directory "$RUN_DIR/mail" </dev/null >>"$LOG_FILE" 2>&1 &
        echo $! >"$PID_FILE"
        for _ in $(seq 1 50); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
                echo "[mailbox] SMTP on 127.0.0.1:$PORT, messages in $RUN_DIR/mail/"
                exit 0
            fi
            sleep 0.1
        done
        echo "[mailbox] ERROR: not listening on $PORT (see $LOG_FILE)" >&2
        exit 1
        ;;
    stop)
        if running; then
            kill "$(cat "$PID_FILE")" && echo "[mailbox] stopped"
        fi
        rm -f "$PID_FILE"
        ;;
    *)
        sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
