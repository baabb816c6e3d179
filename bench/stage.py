"""Setting the stage for a benchmark: scratch databases, a vhost, services as processes.

Benchmarks run against their own scratch databases and RabbitMQ virtual host,
with the services as real ``nameko run`` processes, so nothing they do touches
the demo or the tests, and what is measured is what a school would run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import yaml

from bench.profile import Profiler
from shared.config import REPO_ROOT, Config, load_config
from shared.storage.pool import ConnectionPool
from shared.storage.scratch_databases import create_scratch_databases, drop_scratch_databases

PREFIX = "libbench_"


def management(config: Config) -> tuple[str, tuple[str, str]]:
    parts = urlsplit(config["RABBIT_MANAGEMENT_URI"])
    return f"http://{parts.hostname}:{parts.port}", (parts.username, parts.password)


@dataclass
class Stage:
    """Scratch databases + a vhost + running service processes; torn down by ``close``."""

    config: Config
    workdir: Path
    pools: dict[str, ConnectionPool] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    vhost: str = ""

    @classmethod
    def open(cls, workdir: Path) -> Stage:
        base = load_config()
        base.pop("LOGGING", None)
        stage = cls(base, workdir)
        stage.vhost = f"libbench-{os.getpid()}"
        api, auth = management(base)
        vhost = quote(stage.vhost, safe="")
        requests.put(f"{api}/api/vhosts/{vhost}", auth=auth, timeout=10).raise_for_status()
        requests.put(
            f"{api}/api/permissions/{vhost}/{auth[0]}",
            auth=auth,
            json={"configure": ".*", "write": ".*", "read": ".*"},
            timeout=10,
        ).raise_for_status()
        parts = urlsplit(base["AMQP_URI"])
        stage.config["AMQP_URI"] = urlunsplit(parts._replace(path="/" + stage.vhost))
        stage.config["DATABASES"] = create_scratch_databases(base, PREFIX)
        stage.pools = {s: ConnectionPool(d, size=4) for s, d in stage.config["DATABASES"].items()}
        stage.save_config()
        return stage

    def save_config(self) -> None:
        """The config the service processes read (again, after a bench changed it)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "config.yml").write_text(yaml.safe_dump(self.config))

    def start(self, name: str, module: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (the process owns it)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nameko",
                "run",
                "--config",
                str(self.workdir / "config.yml"),
                module,
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        self.processes[name] = process
        return process

    def wait_for_rpc(self, services: list[str], timeout: float = 90) -> None:
        api, auth = management(self.config)
        deadline = time.monotonic() + timeout
        pending = set(services)
        while pending:
            for service in list(pending):
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{service} exited; see {self.workdir}/{service}.log")
                url = f"{api}/api/queues/{quote(self.vhost, safe='')}/rpc-{service}"
                reply = requests.get(url, auth=auth, timeout=5)
                if reply.ok and reply.json().get("consumers", 0) > 0:
                    pending.discard(service)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"no answer from {sorted(pending)}; see {self.workdir}")
            time.sleep(0.2)

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM (peak resident memory) of each running process, in MB."""
        peaks = {}
        for name, process in self.processes.items():
            status = Path(f"/proc/{process.pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[name] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def as_if_followed(self, services: Sequence[str]) -> dict[str, int]:
        """After a history was stored straight into the stores: circulation's copy
        model built from catalog's feed and its cards (``patrons``: a return's receipt
        names the borrower) from its own, and every relay and projection of
        ``services`` set at its source's head, as if they had followed it live.
        Answers each store's head."""
        from shared.eventsourcing.rebuild import rebuild
        from shared.eventsourcing.store import EventStore
        from shared.runtime.topology import service_projections

        def read_feed(source: str, after: int, limit: int) -> list:
            with self.pools[source].transaction() as cursor:
                return EventStore(source).read(cursor, after, limit)

        for projection in service_projections("circulation"):
            if projection.name in ("copy_availability", "patrons"):
                rebuild(self.pools["circulation"], projection, read_feed)
        heads = {}
        for service in services:
            with self.pools[service].transaction() as cursor:
                heads[service] = EventStore(service).head(cursor)
                cursor.execute(
                    "INSERT INTO relay_progress (exchange, position) VALUES (%s, %s)",
                    (f"{service}.events", heads[service]),
                )
        for service in services:
            with self.pools[service].transaction() as cursor:
                for projection in service_projections(service):
                    for source in projection.sources:
                        cursor.execute(
                            "INSERT INTO projection_checkpoints (projection, source, position) "
                            "VALUES (%s, %s, %s) ON CONFLICT (projection, source) DO UPDATE "
                            "SET position = EXCLUDED.position",
                            (projection.name, source, heads.get(source, 0)),
                        )
        return heads

    def cpu_seconds(self) -> dict[tuple[str, int], float]:
        """CPU time (user + system) so far of each process that serves this stage, by
        (part, pid): the services, this stage's PostgreSQL backends and the main
        cluster's own processes, the system RabbitMQ node, and the bench itself.

        Other runs' backends and other RabbitMQ nodes on the machine are left out;
        ``cpu_used`` counts only processes alive at both readings."""
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[tuple[str, int], float] = {}
        for name, process in self.processes.items():
            used[(name, process.pid)] = _cpu_of(process.pid, tick)
        ours = f"{PREFIX}{os.getpid()}_"
        for pid_dir in Path("/proc").glob("[0-9]*"):
            try:
                command = (pid_dir / "comm").read_text().strip()
                line = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                owner = (pid_dir / "status").read_text().split("\nUid:")[1].split()[0]
            except (OSError, IndexError):
                continue
            pid = int(pid_dir.name)
            if command == "beam.smp" and owner == str(_uid_of("rabbitmq")):
                used[("rabbitmq", pid)] = _cpu_of(pid, tick)
            elif command == "postgres" and "15/main" in line:
                words = line.split("15/main:", 1)[-1].split()
                backend = len(words) >= 2 and words[0] == "library"
                if not backend or words[1].startswith(ours):
                    used[("postgresql", pid)] = _cpu_of(pid, tick)
        used[("bench (the desks)", os.getpid())] = _cpu_of(os.getpid(), tick)
        return used

    def close(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGKILL)
            process.wait()
        for pool in self.pools.values():
            pool.close()
        drop_scratch_databases(self.config, PREFIX)
        api, auth = management(self.config)
        requests.delete(f"{api}/api/vhosts/{quote(self.vhost, safe='')}", auth=auth, timeout=10)


def _cpu_of(pid: int, tick: int) -> float:
    """utime + stime of a process in seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / tick


def cpu_used(
    before: dict[tuple[str, int], float], after: dict[tuple[str, int], float]
) -> dict[str, float]:
    """Seconds of CPU per part between two ``cpu_seconds`` readings (processes in both)."""
    used: dict[str, float] = {}
    for key, seconds in after.items():
        if key in before:
            used[key[0]] = used.get(key[0], 0.0) + seconds - before[key]
    return used


class Measured:
    """The clock and every process's CPU while desks run, started when the desks are ready,
    with py-spy on the services when ``profile`` names a folder."""

    def __init__(
        self, stage: Stage, services: Sequence[str], seconds: float, profile: Path | None
    ) -> None:
        self.stage = stage
        self.profiler = Profiler(profile) if profile else None
        if self.profiler:
            self.profiler.start({s: stage.processes[s].pid for s in services}, seconds)
        self.cpu_before = stage.cpu_seconds()
        self.started = time.monotonic()

    def stop(self, commands: int) -> tuple[float, dict[str, float]]:
        """The seconds since the start and each part's CPU ms per command."""
        elapsed = time.monotonic() - self.started
        cpu_after = self.stage.cpu_seconds()
        if self.profiler:
            self.profiler.wait()
        used = cpu_used(self.cpu_before, cpu_after) if commands else {}
        return elapsed, {name: round(cpu * 1000 / commands, 2) for name, cpu in used.items()}


def _uid_of(user: str) -> int:
    try:
        import pwd

        return pwd.getpwnam(user).pw_uid
    except KeyError:
        return -1
