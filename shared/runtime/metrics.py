"""Metrics for Prometheus: every service process serves ``/metrics`` (prometheus_client).

Where: config ``METRICS`` gives each service a base port; a process serves on
base + ``LIBRARY_INSTANCE`` - 1 (``circulation@3``: base + 2), env ``METRICS_PORT``
overrides, 0 (or a service without a port) takes an ephemeral one. A port that is
taken does not stop the service: it serves on an ephemeral port instead, with a
warning. The process reports its address in its ``health`` answer (``metrics``), and
writes a Prometheus file_sd target into ``METRICS.targets`` (``.run/metrics-targets``)
that it removes when it stops, so a scaled instance is scraped without anyone telling
Prometheus (infra/monitoring/README.md).

One registry and one HTTP server per process: integration tests run several services
in one process, each series carries its ``service`` label.

What is measured (docs/operations.md, Metrics and alerts): commands by name and
outcome and their latency (``observe_command``, around the one command pipeline),
events appended by commands and published by the relay, the database pool, the
gateway's HTTP requests by route pattern and status (``observe_http``); on a timer
(``METRICS.refresh_seconds``, ``EventFeed.refresh_metrics``) each projection's lag in
events and seconds, the relay's lag, parked events and dead letters. Nothing here
costs a query per command.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from logging import getLogger
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider
from nameko.timer import Timer
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from shared import processes
from shared.config import REPO_ROOT, Config
from shared.errors import BadRequest

_log = getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_REFRESH_SECONDS = 15.0
PORT_ENV = "METRICS_PORT"
INSTANCE_ENV = "LIBRARY_INSTANCE"
PATH = "/metrics"

COMMANDS = Counter(
    "library_commands",
    "Commands carried out, by service, command and outcome (ok, refused, invalid, error).",
    ["service", "command", "outcome"],
)
COMMAND_SECONDS = Histogram(
    "library_command_seconds",
    "Time to carry out a command (validation, decision, transaction), by service and command.",
    ["service", "command"],
)
EVENTS_APPENDED = Counter(
    "library_events_appended",
    "Events recorded by this process's commands (committed).",
    ["service"],
)
HTTP_REQUESTS = Counter(
    "library_http_requests",
    "HTTP requests the gateway answered, by route pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "library_http_request_seconds",
    "Time the gateway took to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
)
PROJECTION_LAG_EVENTS = Gauge(
    "library_projection_lag_events",
    "Events of a source a projection has not applied yet (its head minus the checkpoint).",
    ["service", "projection", "source"],
)
PROJECTION_LAG_SECONDS = Gauge(
    "library_projection_lag_seconds",
    "Age of the oldest event of a source a projection has not applied yet; 0 when caught up.",
    ["service", "projection", "source"],
)
RELAY_LAG_EVENTS = Gauge(
    "library_relay_lag_events",
    "Events stored and not yet published by the service's relay.",
    ["service"],
)
EVENT_STORE_HEAD = Gauge(
    "library_event_store_head",
    "The newest position of the service's event log.",
    ["service"],
)
PARKED_EVENTS = Gauge(
    "library_parked_events",
    "Events a projection of the service could not apply and set aside (dead-lettered).",
    ["service"],
)
DEAD_LETTERS = Gauge(
    "library_dead_letters",
    "Messages waiting in one of the service's dead-letter queues (library dlq list).",
    ["service", "queue"],
)
METRICS_REFRESHED = Gauge(
    "library_metrics_refreshed_timestamp_seconds",
    "When the store, relay and dead-letter gauges of the service were last refreshed.",
    ["service"],
)


def outcome_of(error: BaseException | None) -> str:
    """A command's outcome as a label: ok, refused (a rule said no), invalid, error."""
    from shared.eventsourcing.decider import Refused

    if error is None:
        return "ok"
    if isinstance(error, Refused):
        return "refused"
    if isinstance(error, BadRequest):
        return "invalid"
    return "error"


@contextmanager
def observe_command(service: str, command: str) -> Iterator[None]:
    """Count a command by outcome and time it (wrap the whole of it, validation included)."""
    started = time.perf_counter()
    try:
        yield
    except BaseException as error:
        COMMANDS.labels(service, command, outcome_of(error)).inc()
        raise
    else:
        COMMANDS.labels(service, command, "ok").inc()
    finally:
        COMMAND_SECONDS.labels(service, command).observe(time.perf_counter() - started)


def observe_http(route: str, method: str, status: int, seconds: float) -> None:
    """Count and time one answered HTTP request; ``route`` is the pattern, never the path."""
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_SECONDS.labels(route, method).observe(seconds)


UNMATCHED = "<unmatched>"
"""The route label of a request no route matched (a 404, or a 405 for its method)."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_unmatched(method: str, status: int) -> None:
    """Count a request no route answers: one series for them all, whatever their paths (a
    scanner's thousand paths are not a thousand series), an unknown method as OTHER."""
    HTTP_REQUESTS.labels(UNMATCHED, method if method in METHODS else "OTHER", str(status)).inc()


def record_lag(service: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Set the projection lag gauges from ``projection_lag`` rows (unknown lag: left out)."""
    for row in rows:
        labels = (service, row["projection"], row["source"])
        if row.get("lag") is not None:
            PROJECTION_LAG_EVENTS.labels(*labels).set(row["lag"])
        if row.get("seconds") is not None:
            PROJECTION_LAG_SECONDS.labels(*labels).set(row["seconds"])


def record_store(service: str, head: int, relay_lag: int, parked: int) -> None:
    EVENT_STORE_HEAD.labels(service).set(head)
    RELAY_LAG_EVENTS.labels(service).set(relay_lag)
    PARKED_EVENTS.labels(service).set(parked)


def record_dead_letters(service: str, counts: Mapping[str, int]) -> None:
    for queue, count in counts.items():
        DEAD_LETTERS.labels(service, queue).set(count)


def record_refreshed(service: str) -> None:
    METRICS_REFRESHED.labels(service).set_to_current_time()


# ------------------------------------------------------------------ where


def instance_number(environ: Mapping[str, str] = os.environ) -> int:
    """This process's instance of its service (``LIBRARY_INSTANCE``; 1 when unset)."""
    return int(environ.get(INSTANCE_ENV) or 1)


def metrics_port(config: Config, service: str, environ: Mapping[str, str] = os.environ) -> int:
    """The port ``service``'s process serves on: ``METRICS_PORT``, else its base port +
    instance - 1, else 0 (ephemeral)."""
    if environ.get(PORT_ENV, "").strip():
        return int(environ[PORT_ENV])
    base = ((config.get("METRICS") or {}).get("ports") or {}).get(service)
    if not base:
        return 0
    return int(base) + instance_number(environ) - 1


def metrics_host(config: Config) -> str:
    return str((config.get("METRICS") or {}).get("host") or DEFAULT_HOST)


def targets_dir(config: Config) -> Path | None:
    """Where processes write their Prometheus file_sd targets; None: nowhere."""
    where = (config.get("METRICS") or {}).get("targets")
    if not where:
        return None
    path = Path(str(where))
    return path if path.is_absolute() else REPO_ROOT / path


def refresh_seconds(config: Config) -> float:
    seconds = (config.get("METRICS") or {}).get("refresh_seconds")
    return float(seconds) if seconds else DEFAULT_REFRESH_SECONDS


# ------------------------------------------------------------------ serving


class Exposition:
    """The process's one ``/metrics`` HTTP server: the first container to start opens it,
    the last to stop closes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._socket: Any = None
        self._thread: Any = None
        self.url: str | None = None

    def acquire(self, host: str, port: int) -> str:
        """Serve (unless served already) and answer the URL."""
        import eventlet
        import eventlet.wsgi
        from prometheus_client import make_wsgi_app

        with self._lock:
            self._users += 1
            if self._socket is None:
                try:
                    listener = eventlet.listen((host, port))
                except OSError as error:
                    if error.errno != errno.EADDRINUSE or port == 0:
                        self._users -= 1
                        raise
                    _log.warning("metrics port %s:%d is taken; serving on another", host, port)
                    listener = eventlet.listen((host, 0))
                self._socket = listener
                self._thread = eventlet.spawn(
                    eventlet.wsgi.server, listener, make_wsgi_app(), log_output=False
                )
                bound = listener.getsockname()[1]
                self.url = f"http://{advertised(host)}:{bound}{PATH}"
                _log.info("metrics on %s", self.url)
            return str(self.url)

    def release(self) -> None:
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users or self._socket is None:
                return
            self._thread.kill()
            self._socket.close()
            self._socket = self._thread = self.url = None


EXPOSITION = Exposition()


def advertised(host: str) -> str:
    """The host name others reach a listener on (a wildcard address: this machine's name)."""
    return socket.getfqdn() if host in ("", "0.0.0.0", "::") else host


def target_file(directory: Path, service: str, instance: int, pid: int) -> Path:
    return directory / f"{service}@{instance}-{pid}.json"


def write_target(directory: Path, service: str, instance: int, url: str) -> Path:
    """Write this process's file_sd target (atomically), after sweeping away the files of
    processes that are gone (killed without a chance to remove theirs)."""
    import json
    from urllib.parse import urlsplit

    directory.mkdir(parents=True, exist_ok=True)
    sweep_targets(directory)
    path = target_file(directory, service, instance, os.getpid())
    target = [
        {
            "targets": [urlsplit(url).netloc],
            "labels": {"service": service, "replica": str(instance)},
        }
    ]
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(target))
    scratch.replace(path)
    return path


def sweep_targets(directory: Path) -> None:
    """Remove the targets of processes that no longer run on this host."""
    for path in directory.glob("*.json"):
        pid = path.stem.rpartition("-")[2]
        if pid.isdigit() and not processes.alive(int(pid)):
            path.unlink(missing_ok=True)


def running_targets(config: Config) -> dict[str, str]:
    """Each running process's metrics URL, by its spec (``circulation``, ``circulation@2``),
    read from the targets the processes wrote (the demo writes them to .run/demo.json)."""
    import json

    directory = targets_dir(config)
    if directory is None or not directory.is_dir():
        return {}
    sweep_targets(directory)
    found: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            (target,) = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being replaced
        labels = target["labels"]
        spec = labels["service"] if labels["replica"] == "1" else path.stem.rpartition("-")[0]
        found[spec] = f"http://{target['targets'][0]}{PATH}"
    return found


class Metrics(DependencyProvider):
    """Serves the process's ``/metrics`` while the service runs; gives workers its URL.

    Also exposes, read at each scrape, what the container holds in memory: its
    database pool in use and the events its relay published.
    """

    def setup(self) -> None:
        config = self.container.config
        self.service = self.container.service_name
        self.instance = instance_number()
        self.port = metrics_port(config, self.service)
        self.host = metrics_host(config)
        self.targets = targets_dir(config)
        self.amqp_uri = str(config.get("AMQP_URI", ""))
        self.url: str | None = None
        self._target: Path | None = None

    def start(self) -> None:
        self.url = EXPOSITION.acquire(self.host, self.port)
        CONTAINERS.add(self.container)
        if self.targets is not None:
            try:
                self._target = write_target(self.targets, self.service, self.instance, self.url)
            except OSError as error:
                _log.warning("no Prometheus target written in %s: %s", self.targets, error)

    def stop(self) -> None:
        CONTAINERS.discard(self.container)
        if self._target is not None:
            self._target.unlink(missing_ok=True)
            self._target = None
        if self.url is not None:
            self.url = None
            EXPOSITION.release()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> Metrics:
        return self

    def subscribed_sources(self) -> list[str]:
        """The sources the service's ``@subscribe`` entrypoints follow."""
        sources: set[str] = set()
        for entrypoint in self.container.entrypoints:
            sources.update(getattr(entrypoint, "sources", ()) or ())
        return sorted(sources)


class MetricsTimer(Timer):
    """A timer entrypoint firing every ``METRICS.refresh_seconds`` (first at once)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(DEFAULT_REFRESH_SECONDS, eager=True, **kwargs)

    def setup(self) -> None:
        self.interval = refresh_seconds(self.container.config)


metrics_timer = MetricsTimer.decorator


class ContainerCollector(Collector):
    """What running containers hold in memory, read at each scrape: pools and relays."""

    def __init__(self) -> None:
        self._containers: dict[int, Any] = {}  # nameko hands out weak proxies: by id
        self._lock = threading.Lock()

    def add(self, container: Any) -> None:
        with self._lock:
            self._containers[id(container)] = container

    def discard(self, container: Any) -> None:
        with self._lock:
            self._containers.pop(id(container), None)

    def describe(self) -> Iterator[Any]:
        """The families without samples (the registry asks at registration)."""
        yield from self._families().values()

    def collect(self) -> Iterator[Any]:
        from shared.messaging.relay import Relay
        from shared.storage.pool import ConnectionPool

        families = self._families()
        with self._lock:
            containers = list(self._containers.values())
        for container in containers:
            service = container.service_name
            # The container's DatabasePool (shared: one pool) and EventRelay, once set up.
            held = [getattr(e, "pool", None) for e in container.extensions]
            pools = {id(p): p for p in held if isinstance(p, ConnectionPool)}
            for pool in pools.values():
                families["in_use"].add_metric([service], pool.in_use)
                families["size"].add_metric([service], pool.size)
            for relay in (getattr(d, "relay", None) for d in container.dependencies):
                if isinstance(relay, Relay):
                    families["published"].add_metric([service], relay.published)
                    families["leader"].add_metric([service], 1 if relay.is_leader else 0)
        yield from families.values()

    @staticmethod
    def _families() -> dict[str, Any]:
        return {
            "in_use": GaugeMetricFamily(
                "library_db_pool_in_use", "Database connections lent out now.", labels=["service"]
            ),
            "size": GaugeMetricFamily(
                "library_db_pool_size", "Connections the pool may open.", labels=["service"]
            ),
            "published": CounterMetricFamily(
                "library_events_published",
                "Events this process's relay published (only the leader publishes).",
                labels=["service"],
            ),
            "leader": GaugeMetricFamily(
                "library_relay_leader", "1 when this process's relay leads.", labels=["service"]
            ),
        }


CONTAINERS = ContainerCollector()
REGISTRY.register(CONTAINERS)
