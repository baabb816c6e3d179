"""The invariants, checked against the stores, the read models and the broker.

Each check returns the violations it found as sentences (an empty list when it
holds), so a scenario reports every broken invariant at once.

* every answered command is in the circulation store as its ``causation_id``:
  a success exactly once, a refusal never; each such event is archived once;
* no copy is lent twice at once: per barcode, ``Lent`` and ``Returned`` alternate,
  in the store and in the archive;
* the ledgers equal a fold of the catalog and circulation stores, and every read
  model of "what is out" names the same copies;
* no consumer lost an event: every checkpoint is at its source's head, the
  archive holds each source's positions 1..head, each relay's progress is at
  its head, and the audit queues saw every position at least once;
* nothing is parked or dead-lettered but the poison, nothing is left in a queue
  or unacked;
* on a cluster, the queues that must outlive a broker node are quorum queues,
  every node runs and every quorum queue has all its members online; on a single
  node they are classic durable queues (a quorum queue there replicates to nobody).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kombu import Connection

from shared.config import SERVICES
from tests.faults.desks import Command
from tests.faults.system import AUDIT_QUEUE, AUDITED, VHOST, System, followed

LOAN_TYPES = ("Lent", "Returned", "DeclaredLost")
CAUSED_BY = """
    SELECT causation_id, event_id::text, position, type, data->>'barcode' FROM events
    WHERE causation_id = ANY(%s)
"""
ARCHIVED = """
    SELECT event_id::text, position FROM archived_events
    WHERE source = 'circulation' AND event_id = ANY(%s::uuid[])
"""
LOAN_HISTORY = "SELECT data->>'barcode', type FROM events WHERE type = ANY(%s) ORDER BY position"
ARCHIVED_LOAN_HISTORY = """
    SELECT envelope->'data'->>'barcode', type FROM archived_events
    WHERE source = 'circulation' AND type = ANY(%s) ORDER BY position
"""
OUT_NOW = {
    ("catalog", "copies on loan"): "SELECT barcode FROM copies_on_loan",
    ("circulation", "open loans"): "SELECT barcode FROM loans WHERE status = 'open'",
    ("circulation", "copy model"): (
        "SELECT barcode FROM copy_availability WHERE loan_id IS NOT NULL"
    ),
    ("archives", "ledger copies"): "SELECT barcode FROM ledger_copies WHERE on_loan",
    ("archives", "archived loans"): "SELECT barcode FROM archive_loans WHERE status = 'open'",
}


@dataclass
class Expected:
    """What the poison leaves behind on purpose."""

    parked: set[tuple[str, str, str, int]] = field(default_factory=set)  # service, proj, src, pos
    dead_letters: Counter = field(default_factory=Counter)  # queue -> messages


# ------------------------------------------------------------------ progress (settling)


def progress(system: System, expected: Expected) -> list[str]:
    """What still moves: relays, checkpoints, the archive, queues. Empty once settled."""
    heads = system.heads()
    problems = []
    for service in SERVICES:
        published = system.value(
            service,
            "SELECT position FROM relay_progress WHERE exchange = %s",
            (f"{service}.events",),
        )
        if (published or 0) != heads[service]:
            problems.append(f"{service}'s relay published {published or 0} of {heads[service]}")
    checkpoints = {
        (service, projection, source): position
        for service in SERVICES
        for projection, source, position in system.rows(
            service, "SELECT projection, source, position FROM projection_checkpoints"
        )
    }
    for key in followed():
        service, projection, source = key
        if checkpoints.get(key, 0) != heads[source]:
            problems.append(
                f"{service}'s {projection} is at {checkpoints.get(key, 0)} of {source}'s "
                f"{heads[source]}"
            )
    for source, count, highest in system.rows(
        "archives", "SELECT source, count(*), max(position) FROM archived_events GROUP BY source"
    ):
        if count != heads[source] or highest != heads[source]:
            problems.append(f"the archive holds {count} of {source}'s events (up to {highest})")
    problems += queue_problems(system, expected)
    return problems


def queue_problems(system: System, expected: Expected) -> list[str]:
    problems = []
    for queue in system.servers.queues(VHOST):
        name = queue["name"]
        if name.startswith("faults.audit."):
            continue
        if name.startswith("rpc.reply-") and not queue.get("consumers"):
            # A caller that gave up (a desk whose connection broke): nameko declares reply
            # queues with x-expires, so the broker drops the queue and its late answers.
            if not (queue.get("arguments") or {}).get("x-expires"):
                problems.append(f"{name} has no reader and never expires")
            continue
        ready, unacked = queue.get("messages", 0), queue.get("messages_unacknowledged", 0)
        if name.endswith(".dlq"):
            if ready + unacked != expected.dead_letters.get(name, 0):
                problems.append(
                    f"{name} holds {ready + unacked}, expected {expected.dead_letters.get(name, 0)}"
                )
        elif ready or unacked:
            problems.append(f"{name} holds {ready} ready and {unacked} unacked")
    return problems


# ------------------------------------------------------------------ the invariants


def answered_commands(system: System, commands: Sequence[Command]) -> tuple[list[str], dict]:
    """Successes recorded exactly once, refusals never; each archived once."""
    problems: list[str] = []
    ids = [c.command_id for c in commands if c.outcome in ("ok", "refused")]
    caused: dict[str, list[tuple]] = defaultdict(list)
    for row in system.rows("circulation", CAUSED_BY, (ids,)):
        caused[row[0]].append(row)
    stored = {}
    for command in commands:
        events = caused.get(command.command_id, [])
        if command.outcome == "refused" and events:
            problems.append(
                f"{command.kind} {command.barcode} was refused ({command.answer}) "
                f"but recorded {[e[3] for e in events]} (command {command.command_id}, "
                f"{command.attempts} attempts: {command.failures})"
            )
        elif command.outcome == "ok":
            matching = [e for e in events if e[3] == command.event_type and e[4] == command.barcode]
            if len(matching) != 1:
                problems.append(
                    f"{command.kind} {command.barcode} succeeded but the store holds "
                    f"{len(matching)} {command.event_type} for it"
                )
            for event in events:
                stored[event[1]] = event[2]
        elif command.outcome != "refused":
            problems.append(f"{command.kind} {command.barcode} was never answered")
    archived = Counter()
    positions = {}
    for event_id, position in system.rows("archives", ARCHIVED, (list(stored),)):
        archived[event_id] += 1
        positions[event_id] = position
    for event_id, position in stored.items():
        if archived[event_id] != 1 or positions.get(event_id) != position:
            problems.append(
                f"event {event_id} (#{position}) is archived {archived[event_id]} times"
            )
    return problems, {"stored": len(stored), "archived": sum(archived.values())}


def lent_once_at_a_time(system: System) -> list[str]:
    """Per barcode, Lent and Returned alternate, starting with Lent (store and archive)."""
    problems = []
    for where, service, sql in (
        ("store", "circulation", LOAN_HISTORY),
        ("archive", "archives", ARCHIVED_LOAN_HISTORY),
    ):
        out: dict[str, bool] = {}
        for barcode, kind in system.rows(service, sql, (list(LOAN_TYPES),)):
            if (kind == "Lent") == out.get(barcode, False):
                state = "out" if out.get(barcode) else "in"
                problems.append(f"{where}: {barcode} {kind} while {state}")
            out[barcode] = kind == "Lent"
    return problems


def fold_collection(system: System) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Each copy (campus, price, weeded) from catalog's store; what is out from circulation's."""
    copies: dict[str, dict[str, Any]] = {}
    for kind, data in system.rows("catalog", "SELECT type, data FROM events ORDER BY position"):
        barcode = data.get("barcode")
        if kind == "BookAdded":
            copies[barcode] = {"campus": data["campus"], "price": Decimal(data["price"])}
        elif kind == "Weeded":
            copies[barcode]["weeded"] = True
        elif kind == "Transferred":
            copies[barcode]["campus"] = data["to_campus"]
    out: set[str] = set()
    for barcode, kind in system.rows("circulation", LOAN_HISTORY, (list(LOAN_TYPES),)):
        (out.add if kind == "Lent" else out.discard)(barcode)
    return copies, out


def ledgers(system: System) -> list[str]:
    """The general ledger and every "what is out" read model against the fold."""
    copies, out = fold_collection(system)
    problems = []
    with system.rpc("archives") as archives:
        lines = {line["campus"]: line for line in archives.general_ledger({})}
    for campus in sorted({c["campus"] for c in copies.values()}) + ["all"]:
        held = [
            b for b, c in copies.items() if not c.get("weeded") and campus in ("all", c["campus"])
        ]
        expected = {
            "held": len(held),
            "held_value": f"{sum((copies[b]['price'] for b in held), Decimal(0)):.2f}",
            "on_loan": len(out & set(held)),
            "lost": 0,
        }
        actual = {key: lines.get(campus, {}).get(key) for key in expected}
        if actual != expected:
            problems.append(f"general ledger, {campus}: {actual} but the stores say {expected}")
    for (service, model), sql in OUT_NOW.items():
        listed = {row[0] for row in system.rows(service, sql)}
        if listed != out:
            problems.append(
                f"{service}'s {model}: {len(listed)} copies out, the store says {len(out)} "
                f"(e.g. {sorted(listed ^ out)[:3]})"
            )
    return problems


def parked(system: System, expected: Expected) -> list[str]:
    found = {
        (service, projection, source, position)
        for service in SERVICES
        for projection, source, position in system.rows(
            service, "SELECT projection, source, position FROM parked_events"
        )
    }
    if found == expected.parked:
        return []
    return [f"parked {sorted(found)}, expected {sorted(expected.parked)}"]


def drain_audit(system: System, seen: dict[str, Counter]) -> int:
    """Take every message off the audit queues into ``seen``; return how many were repeats."""
    repeats = 0
    with Connection(system.config["AMQP_URI"]) as connection:
        channel = connection.channel()
        for source in AUDITED:
            queue = AUDIT_QUEUE.format(source)
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                position = message.headers["position"]
                repeats += seen[source][position] > 0
                seen[source][position] += 1
    return repeats


def relays_lost_nothing(system: System, seen: dict[str, Counter]) -> list[str]:
    problems = []
    for source in AUDITED:
        head = system.head(source)
        missing = [p for p in range(1, head + 1) if not seen[source][p]]
        if missing:
            problems.append(f"{source}'s relay never published {missing[:5]} ({len(missing)})")
    return problems


def quorum_queues(system: System) -> list[str]:
    """On a cluster the services' request, reply, subscriber and dead-letter queues are
    quorum queues, on a single node classic durable ones (the audit queues are quorum
    queues on both); a cluster is whole again. (Standalone proxies' reply queues, the
    desks', stay classic: they live and die with one connection.)"""
    wanted = "quorum" if len(system.servers.nodes) > 1 else "classic"
    problems = []
    for queue in system.servers.queues(VHOST):
        name = queue["name"]
        must = (
            name.startswith("rpc-")
            or (name.startswith("rpc.reply-") and "standalone_rpc_proxy" not in name)
            or ".from." in name
            or name.endswith(".dlq")
        )
        if name.startswith("faults.audit.") and queue.get("type") != "quorum":
            problems.append(f"{name} is a {queue.get('type')} queue, not a quorum queue")
        elif must and (queue.get("type") != wanted or not queue.get("durable")):
            problems.append(f"{name} is a {queue.get('type')} queue, not a {wanted} one")
    return problems + system.servers.whole(VHOST)


def redeliveries(system: System) -> int:
    """Messages the broker delivered again to the consumers' queues (since it last started)."""
    return sum(
        (queue.get("message_stats") or {}).get("redeliver", 0)
        for queue in system.servers.queues(VHOST)
        if ".from." in queue["name"] and not queue["name"].endswith(".dlq")
    )


def everything(
    system: System, commands: Iterable[Command], expected: Expected, seen: dict[str, Counter]
) -> tuple[list[str], dict[str, int]]:
    """Every invariant; returns the violations and the stored/archived counts."""
    problems, counts = answered_commands(system, list(commands))
    problems += lent_once_at_a_time(system)
    problems += ledgers(system)
    problems += progress(system, expected)
    problems += parked(system, expected)
    problems += relays_lost_nothing(system, seen)
    problems += quorum_queues(system)
    return problems, counts
