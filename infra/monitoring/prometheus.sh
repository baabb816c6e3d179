#!/usr/bin/env bash
# The demo's Prometheus (Debian's prometheus package): scrapes every service process's
# /metrics, found through the file_sd targets each process writes when it starts
# (METRICS.targets in infra/config.yml, .run/metrics-targets/), with the alert rules
# of infra/monitoring/alerts.yml. Web UI and API on 127.0.0.1:9090 (PROMETHEUS_PORT).
#
#   infra/monitoring/prometheus.sh start        write its config, start it unless running
#   infra/monitoring/prometheus.sh stop         stop it (its data is kept in .run/prometheus/)
#   infra/monitoring/prometheus.sh config DIR   only write the config into DIR (the tests)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"

RUN_DIR="${LIBRARY_RUN_DIR:-.run}"
HOME_DIR="$RUN_DIR/prometheus"
PID_FILE="$HOME_DIR/prometheus.pid"
LOG_FILE="$RUN_DIR/logs/prometheus.log"
PORT="${PROMETHEUS_PORT:-9090}"
ADDRESS="127.0.0.1:$PORT"

running() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
        && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q prometheus
}

# Where the services write their targets, as the config says (absolute).
targets_dir() {
    .venv/bin/python -W ignore -c '
from shared.config import load_config
from shared.runtime.metrics import targets_dir
print(targets_dir(load_config()) or "")'
}

write_config() {
    local dir="$1" targets
    targets="$(targets_dir)"
    if [ -z "$targets" ]; then
        echo "[prometheus] ERROR: METRICS.targets is empty in the config: nothing to scrape" >&2
        exit 1
    fi
    mkdir -p "$dir" "$targets"
    cat >"$dir/prometheus.yml" <<YAML
# Written by infra/monitoring/prometheus.sh; edit that script, not this file.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $REPO_ROOT/infra/monitoring/alerts.yml
scrape_configs:
  - job_name: library
    # The service label the process gives its series wins over its target's (the same).
    honor_labels: true
    file_sd_configs:
      - files: ["$targets/*.json"]
        refresh_interval: 10s
  - job_name: prometheus
    static_configs:
      - targets: ["$ADDRESS"]
YAML
    echo "$dir/prometheus.yml"
}

case "${1:-}" in
    start)
        command -v prometheus >/dev/null || ensure_packages prometheus
        mkdir -p "$HOME_DIR/data" "$RUN_DIR/logs"
        config="$(write_config "$HOME_DIR")"
        if running; then
            kill -HUP "$(cat "$PID_FILE")"  # reread the config
            echo "[prometheus] already running (pid $(cat "$PID_FILE")), on http://$ADDRESS"
            exit 0
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
            # Debian's package starts a Prometheus of its own where systemd runs.
            echo "[prometheus] ERROR: 127.0.0.1:$PORT is taken (Debian's prometheus service?" \
                "\`systemctl disable --now prometheus\`), or set PROMETHEUS_PORT" >&2
            exit 1
        fi
        setsid prometheus --config.file="$config" --storage.tsdb.path="$HOME_DIR/data" \
            --storage.tsdb.retention.time=15d --web.listen-address="$ADDRESS" \
            </dev/null >>"$LOG_FILE" 2>&1 &
        started=$!
        echo "$started" >"$PID_FILE"
        for _ in $(seq 1 100); do
            # the process itself, not `running`: while it is being exec'd its cmdline
            # can read empty, and a demo stopped here once though Prometheus came up
            kill -0 "$started" 2>/dev/null || break
            if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
                echo "[prometheus] scraping the services on http://$ADDRESS (targets: $(targets_dir))"
                exit 0
            fi
            sleep 0.2
        done
        echo "[prometheus] ERROR: not ready on $ADDRESS (see $LOG_FILE)" >&2
        exit 1
        ;;
    stop)
        if running; then
            kill "$(cat "$PID_FILE")" && echo "[prometheus] stopped"
        fi
        rm -f "$PID_FILE"
        ;;
    config)
        [ -n "${2:-}" ] || { echo "usage: $0 config DIR" >&2; exit 2; }
        write_config "$2"
        ;;
    *)
        sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
