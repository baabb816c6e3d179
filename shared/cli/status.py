"""``library status``: is everything up, and is anything falling behind?

For each service: whether it answers its ``health`` RPC (with a short timeout),
how many instances consume its RPC queue, its newest position and when that
event was recorded (the source's last event), and its relay (is a leader elected,
how many events are still to be published), read from its own database (a service
that owns none, the SIP2 server, is asked its health only). Then RabbitMQ's queues
(depth, unacknowledged, consumers, messages/s in and out), the dead letters per
``*.dlq`` queue, and each projection's lag behind each of its sources in events
and in seconds (the ``projection_lag`` RPC). The gateway is checked over HTTP.

The broker's part (queues, instances, dead letters) is read by
``shared.runtime.status_report``, as the gateway's ``GET /api/status`` reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.cli.errors import OK, UNREACHABLE, CliError, ServiceDown, Unreachable
from shared.cli.rpc import Services, check_broker
from shared.config import SERVICES, Config, database_url
from shared.eventsourcing.store import LOCK_NAMESPACE, RELAY_LOCK
from shared.runtime.status_report import BrokerView, QueueState, look_at_broker

GATEWAY = "gateway"
SIP2 = "sip2"
DEFAULT_WEB_ADDRESS = "0.0.0.0:8000"
DB_CONNECT_TIMEOUT = 3

RELAY_STATE = f"""
    SELECT (SELECT coalesce(max(position), 0) FROM events),
           (SELECT coalesce(max(position), 0) FROM relay_progress),
           EXISTS (SELECT 1 FROM pg_locks
                   WHERE locktype = 'advisory' AND granted
                     AND classid = {LOCK_NAMESPACE} AND objid = {RELAY_LOCK}
                     AND database = (SELECT oid FROM pg_database
                                     WHERE datname = current_database()))
"""


@dataclass
class ServiceState:
    service: str
    up: bool = False
    problem: str = ""
    instances: int | None = None
    head: int | None = None
    database: str = "-"
    relay_leader: bool | None = None
    unpublished: int | None = None
    last_event_at: str | None = None  # when its newest event (``head``) was recorded


@dataclass
class StatusReport:
    services: list[ServiceState] = field(default_factory=list)
    broker: BrokerView = field(default_factory=BrokerView)
    lag: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    exit_code: int = OK

    def fail(self, error: CliError) -> None:
        self.problems.append(error.message)
        # Unreachable infrastructure outranks a service that is down.
        if error.exit_code == UNREACHABLE or self.exit_code == OK:
            self.exit_code = error.exit_code

    @property
    def queues(self) -> list[QueueState]:
        """Every queue, dead-letter queues too (none when the broker could not be asked)."""
        return self.broker.queues or []

    @property
    def dead_letters(self) -> list[QueueState]:
        return [q for q in self.broker.dead_letter_queues() or [] if q.messages]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == OK,
            "services": [asdict(s) for s in self.services],
            "queues": self.broker.queue_rows() or [],
            "dead_letters": {q.name: q.messages for q in self.broker.dead_letter_queues() or []},
            "projection_lag": self.lag,
            "problems": self.problems,
        }


def gather(config: Config, services: list[str], timeout: float) -> StatusReport:
    """Look at everything; a broker that cannot be reached ends it (``Unreachable``).

    Services are asked side by side, so a status with every service down takes
    one timeout, not one per service."""
    import eventlet

    check_broker(config)
    report = StatusReport(broker=look_at_broker(config))
    for problem in report.broker.problems:
        report.fail(Unreachable(problem))
    pool = eventlet.GreenPool(len(services) or 1)
    checks = pool.imap(lambda name: _check(config, name, timeout, report.broker), services)
    for state, lag, problems in checks:
        report.services.append(state)
        report.lag += lag
        for problem in problems:
            report.fail(problem)
    last_events = {state.service: state.last_event_at for state in report.services}
    for row in report.lag:
        row["source_last_event_at"] = last_events.get(row["source"])
    return report


def _check(
    config: Config, name: str, timeout: float, broker: BrokerView
) -> tuple[ServiceState, list[dict[str, Any]], list[CliError]]:
    """One service: its database, its health and its projections' lag (a service that
    owns no data, as the SIP2 server, has neither database nor projections: its health)."""
    problems: list[CliError] = []
    if name == GATEWAY:
        gateway = _gateway(config, problems)
        gateway.instances = broker.instances(GATEWAY)  # its health RPC's consumers
        return gateway, [], problems
    state = ServiceState(name, instances=broker.instances(name))
    owns_data = name in SERVICES
    if owns_data:
        _database(config, state, problems)
    lag: list[dict[str, Any]] = []
    try:
        with Services(config, timeout=timeout) as rpc:
            health = rpc.call(name, "health")
            state.up = True
            state.head = health.get("head", state.head)
            if owns_data:
                lag = [{"service": name, **row} for row in rpc.call(name, "projection_lag")]
                state.last_event_at = _last_event_at(rpc, name, health.get("head"))
    except CliError as error:
        state.problem = error.message
        problems.append(error)
    return state, lag, problems


def _last_event_at(rpc: Services, name: str, head: int | None) -> str | None:
    """When the service's newest event was recorded (its feed's page after ``head - 1``)."""
    if not head:
        return None
    page = rpc.call(name, "events_since", head - 1, 1)
    return page[0]["recorded_at"] if page else None


def _database(config: Config, state: ServiceState, problems: list[CliError]) -> None:
    """The relay as the service's own database sees it: leader elected, events left to publish."""
    import psycopg2

    try:
        conn = psycopg2.connect(
            database_url(config, state.service), connect_timeout=DB_CONNECT_TIMEOUT
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(RELAY_STATE)
                head, published, leader = cursor.fetchone()
        finally:
            conn.close()
    except (psycopg2.Error, KeyError) as error:
        state.database = "unreachable"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        problems.append(Unreachable(f"{state.service}'s PostgreSQL database: {reason}"))
        return
    state.database = "ok"
    state.head = head
    state.relay_leader = bool(leader)
    state.unpublished = max(0, head - published)


def web_address(config: Config) -> str:
    """Where the gateway listens, as a URL a browser on this machine can open."""
    address = str(config.get("WEB_SERVER_ADDRESS") or DEFAULT_WEB_ADDRESS)
    host, _, port = address.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _gateway(config: Config, problems: list[CliError]) -> ServiceState:
    import requests

    state = ServiceState(GATEWAY, database="-")
    url = web_address(config)
    try:
        response = requests.get(f"{url}/", timeout=3)
        state.up = response.status_code < 500
        if not state.up:
            state.problem = f"{url} answered HTTP {response.status_code}"
    except requests.RequestException:
        state.problem = f"nothing answers at {url}"
    if not state.up:
        problems.append(ServiceDown(f"gateway: {state.problem}"))
    return state


def render(report: StatusReport, console: Any) -> None:
    """Tables for people (``console`` is a rich Console)."""
    from rich.table import Table

    now = datetime.now(UTC)
    services = Table(title="Services", title_justify="left")
    for column in ("service", "state", "instances", "head", "last event", "database", "relay"):
        services.add_column(column, justify="right" if column in ("instances", "head") else "left")
    for state in report.services:
        services.add_row(
            state.service,
            "[green]up[/]" if state.up else "[red]down[/]",
            _number(state.instances),
            _number(state.head),
            _ago(state.last_event_at, now),
            "[red]unreachable[/]" if state.database == "unreachable" else state.database,
            _relay(state),
        )
    console.print(services)

    if report.queues:
        queues = Table(title="RabbitMQ queues", title_justify="left")
        for column in ("queue", "ready", "unacked", "consumers", "in/s", "out/s"):
            queues.add_column(column, justify="left" if column == "queue" else "right")
        for queue in report.queues:
            if not queue.is_dead_letters:
                queues.add_row(
                    queue.name,
                    str(queue.ready),
                    str(queue.unacked),
                    str(queue.consumers),
                    _rate(queue.publish_rate),
                    _rate(queue.deliver_rate),
                )
        console.print(queues)

    if report.dead_letters:
        letters = Table(title="Dead letters", title_justify="left")
        letters.add_column("queue")
        letters.add_column("messages", justify="right")
        for queue in report.dead_letters:
            letters.add_row(queue.name, f"[red]{queue.messages}[/]")
        console.print(letters)
        console.print("  see them with `library dlq list <queue>`, resend: `library dlq retry`")
    elif report.queues:
        console.print("Dead letters: none")

    if report.lag:
        lag = Table(title="Projection lag", title_justify="left")
        numbers = ("checkpoint", "head", "lag", "seconds")
        columns = ("service", "projection", "source", *numbers, "last event")
        for column in columns:
            lag.add_column(column, justify="right" if column in numbers else "left")
        for row in report.lag:
            behind, seconds = row.get("lag"), row.get("seconds")
            lag.add_row(
                row["service"],
                row["projection"],
                row["source"],
                _number(row.get("checkpoint")),
                _number(row.get("head")),
                "?" if behind is None else (f"[yellow]{behind}[/]" if behind else "0"),
                "?" if seconds is None else (f"[yellow]{seconds:.1f}[/]" if seconds else "0"),
                _ago(row.get("source_last_event_at"), now),
            )
        console.print(lag)

    if report.problems:
        console.print(f"[red]{len(report.problems)} problem(s):[/]")
        for problem in report.problems:
            console.print(f"  - {problem}", highlight=False)
    else:
        console.print("[green]all services up[/]")


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _rate(per_second: float) -> str:
    return f"{per_second:.1f}" if per_second else "0"


def _ago(recorded_at: str | None, now: datetime) -> str:
    """``5s ago``, ``3min ago``: how long since an event was recorded (the JSON has the time)."""
    if recorded_at is None:
        return "-"
    seconds = max(0, int((now - datetime.fromisoformat(recorded_at)).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _relay(state: ServiceState) -> str:
    if state.relay_leader is None:
        return "-"
    if not state.relay_leader:
        behind = f", {state.unpublished} to publish" if state.unpublished else ""
        return f"[red]no leader[/]{behind}"
    if state.unpublished:
        return f"leader, [yellow]{state.unpublished} to publish[/]"
    return "leader, all published"


def services_to_check(named: list[str]) -> list[str]:
    """The services ``library status`` looks at: those named, else all, the gateway and
    the SIP2 server (what infra/services.sh starts)."""
    return named or [*SERVICES, GATEWAY, SIP2]
