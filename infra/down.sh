#!/usr/bin/env bash
# Stop RabbitMQ and the PostgreSQL cluster started by up.sh. Data is kept.
# Idempotent: does nothing for servers that are not running (or not installed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PG_CLUSTER=main

if command -v rabbitmqctl >/dev/null && rabbitmq-diagnostics -q ping -t 5 >/dev/null 2>&1; then
    log "stopping RabbitMQ"
    rabbitmqctl -q stop >/dev/null
else
    log "RabbitMQ not running"
fi

if command -v pg_lsclusters >/dev/null && [ -d /usr/lib/postgresql ]; then
    PG_VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    status="$(pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}')"
    if [[ "$status" == online* ]]; then
        log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" stop
    else
        log "PostgreSQL $PG_VERSION/$PG_CLUSTER not running"
    fi
else
    log "PostgreSQL not installed"
fi
log "down"
