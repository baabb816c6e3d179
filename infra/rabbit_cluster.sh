#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, for testing what happens when a node is lost.
#
#   infra/rabbit_cluster.sh start    start the three nodes (if not running) and join them (if not joined)
#   infra/rabbit_cluster.sh stop     stop the three nodes (data and membership kept)
#   infra/rabbit_cluster.sh status   each node, and the cluster as node 1 sees it; exit 0 when all run
#   infra/rabbit_cluster.sh drop     stop them and remove their data (.run/rabbit/<name>)
#   infra/rabbit_cluster.sh uris     print AMQP_URI and RABBIT_MANAGEMENT_URI for the config
#
# The nodes are RABBIT_CLUSTER_NAME1..3@localhost (default cluster1..3) on the AMQP
# ports RABBIT_CLUSTER_PORTS (default "5701 5702 5703"); as for infra/extra_rabbit.sh,
# which starts each of them, the management API is on port + 10000 and Erlang
# distribution on port + 20000. Nodes 2 and 3 join node 1 with `rabbitmqctl
# join_cluster` (once: a node already in the cluster is left alone). Start them
# together: a clustered node that was not the last to stop waits for its peers.
# The services take every node's address, separated by ";" (see `uris`), and fail
# over between them; docs/operations.md ("RabbitMQ cluster") has the rest.
# Safe to run twice. Used by the cluster fault test (tests/faults/test_cluster.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$REPO_ROOT"

usage() {
    sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -eq 1 ] || usage
ACTION="$1"
PREFIX="${RABBIT_CLUSTER_NAME:-cluster}"
read -r -a PORTS <<<"${RABBIT_CLUSTER_PORTS:-5701 5702 5703}"
[ "${#PORTS[@]}" -ge 2 ] || die "RABBIT_CLUSTER_PORTS needs at least two ports"
NAMES=()
for index in "${!PORTS[@]}"; do
    NAMES+=("$PREFIX$((index + 1))")
done
FIRST="${NAMES[0]}@localhost"
AMQP_USER="${LIBRARY_AMQP_USER:-library}"
AMQP_PASSWORD="${LIBRARY_AMQP_PASSWORD:-library}"
RABBIT_BIN=/usr/lib/rabbitmq/bin
TIMEOUT="${EXTRA_RABBIT_TIMEOUT:-120}"

extra() { bash infra/extra_rabbit.sh "$@"; }
# rabbitmqctl with the node's own home (the copy of the Erlang cookie extra_rabbit.sh made).
ctl() {
    local name="$1"
    shift
    HOME="$REPO_ROOT/.run/rabbit/$name" "$RABBIT_BIN/rabbitmqctl" -q -n "$name@localhost" "$@"
}

# The names of the cluster's disc nodes, one a line, as node 1 sees them.
members() {
    ctl "${NAMES[0]}" cluster_status --formatter json \
        | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["disk_nodes"]))'
}
running_members() {
    ctl "${NAMES[0]}" cluster_status --formatter json \
        | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["running_nodes"]))'
}
all_running() { [ "$(running_members | grep -c .)" -eq "${#NAMES[@]}" ]; }

# Each node in the background: a clustered node waits at boot until its peers are back.
# Their output goes to files, not to pipes: the nodes they start must not inherit
# our stdout (a caller reading it to the end would wait for the nodes to stop).
start_nodes() {
    local pids=() index failed=0 out="$REPO_ROOT/.run/rabbit"
    mkdir -p "$out"
    for index in "${!NAMES[@]}"; do
        extra start "${NAMES[$index]}" "${PORTS[$index]}" \
            >"$out/${NAMES[$index]}.start.log" 2>&1 </dev/null &
        pids+=($!)
    done
    for index in "${!pids[@]}"; do
        wait "${pids[$index]}" || { warn "${NAMES[$index]} did not start"; failed=1; }
        sed "s/^/[${NAMES[$index]}] /" "$out/${NAMES[$index]}.start.log"
    done
    [ "$failed" -eq 0 ] || die "not every node started (logs: .run/rabbit/<name>/log)"
}

join_nodes() {
    local name
    for name in "${NAMES[@]:1}"; do
        if members | grep -qxF "$name@localhost"; then
            continue
        fi
        # A node joins empty: reset drops what it had on its own (its copy of the user).
        log "joining $name@localhost to $FIRST"
        ctl "$name" stop_app >/dev/null
        ctl "$name" reset >/dev/null
        ctl "$name" join_cluster "$FIRST" >/dev/null
        ctl "$name" start_app >/dev/null
    done
}

cmd_start() {
    start_nodes
    join_nodes
    wait_until "$TIMEOUT" "${#NAMES[@]} running cluster members" all_running \
        || die "the cluster does not have ${#NAMES[@]} running members: $(running_members | xargs)"
    # The user is cluster-wide: set it once, through node 1.
    extra start "${NAMES[0]}" "${PORTS[0]}" >/dev/null
    log "cluster of $(running_members | xargs)"
    cmd_uris
}

cmd_stop() {
    local index
    for index in "${!NAMES[@]}"; do
        extra stop "${NAMES[$index]}" "${PORTS[$index]}"
    done
}

cmd_status() {
    local index ok=0
    for index in "${!NAMES[@]}"; do
        extra status "${NAMES[$index]}" "${PORTS[$index]}" || ok=1
    done
    if extra status "${NAMES[0]}" "${PORTS[0]}" >/dev/null 2>&1; then
        log "members: $(members | xargs); running: $(running_members | xargs)"
    fi
    return "$ok"
}

cmd_drop() {
    local index
    for index in "${!NAMES[@]}"; do
        extra drop "${NAMES[$index]}" "${PORTS[$index]}"
    done
}

cmd_uris() {
    local port amqp=() management=()
    for port in "${PORTS[@]}"; do
        amqp+=("amqp://$AMQP_USER:$AMQP_PASSWORD@127.0.0.1:$port/")
        management+=("http://$AMQP_USER:$AMQP_PASSWORD@127.0.0.1:$((port + 10000))/")
    done
    (
        IFS=';'
        echo "AMQP_URI='${amqp[*]}'"
        echo "RABBIT_MANAGEMENT_URI='${management[*]}'"
    )
}

case "$ACTION" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    drop) cmd_drop ;;
    uris) cmd_uris ;;
    *) usage ;;
esac
