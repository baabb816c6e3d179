"""The desks: green threads lending and returning copies through circulation's RPC.

Each desk has its own RPC connection and sends one command at a time, every one
with a ``command_id``. An answer (a receipt or a refusal) is recorded; anything
else (a timeout, the broker gone, a database error) is not an answer, so the
desk sends the *same* command again, as a librarian pressing the button again
would, until it is answered or ``give_up_after`` seconds have passed.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from logging import getLogger
from typing import Any

import eventlet
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

_log = getLogger(__name__)

ANSWERS = ("Refused", "NotFound", "BadRequest")
"""Remote errors that are the service's answer; any other is asked again."""
RETURN_SHARE = 0.45
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 1.0


@dataclass
class Command:
    """One command as a desk sent it, and what became of it."""

    kind: str  # the RPC: "lend" or "return_copy"
    barcode: str
    campus: str
    patron_id: str | None = None
    command_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent_at: float = field(default_factory=time.monotonic)
    answered_at: float | None = None
    outcome: str = "pending"  # ok, refused or unanswered
    answer: Any = None
    attempts: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def payload(self) -> dict[str, Any]:
        payload = {"command_id": self.command_id, "barcode": self.barcode, "campus": self.campus}
        if self.patron_id is not None:
            payload["patron_id"] = self.patron_id
        return payload

    @property
    def event_type(self) -> str:
        return "Lent" if self.kind == "lend" else "Returned"

    def finish(self, outcome: str, answer: Any) -> None:
        self.outcome, self.answer, self.answered_at = outcome, answer, time.monotonic()


class Desks:
    """``count`` desks sharing one belief of which copies are out."""

    def __init__(
        self,
        config: dict[str, Any],
        copies: dict[str, str],
        patrons: list[str],
        on_loan: Iterable[str],
        *,
        count: int,
        rpc_timeout: float,
        give_up_after: float,
        seed: int,
    ) -> None:
        self.config = config
        self.copies = copies
        self.barcodes = sorted(copies)
        self.patrons = patrons
        self.on_loan = set(on_loan) & set(copies)
        self.count = count
        self.rpc_timeout = rpc_timeout
        self.give_up_after = give_up_after
        self.seed = seed
        self.commands: list[Command] = []
        self._left = 0

    # ------------------------------------------------------------ running

    def run(self, total: int) -> None:
        """Send ``total`` commands from ``count`` desks; return when each has its outcome."""
        self._left = total
        desks = [eventlet.spawn(self._desk, index) for index in range(self.count)]
        for desk in desks:
            desk.wait()

    def stop(self) -> None:
        """Send no more: each desk finishes the command it is sending (``run`` then returns)."""
        self._left = 0

    def send(self, command: Command) -> Command:
        """One command from a desk of its own (the poison scenario's loan)."""
        self.commands.append(command)
        line = Line(self.config, self.rpc_timeout)
        try:
            self._send(command, line)
        finally:
            line.close()
        return command

    def _desk(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        line = Line(self.config, self.rpc_timeout)
        try:
            while self._left > 0:
                self._left -= 1
                command = self._choose(rng)
                self.commands.append(command)
                self._send(command, line)
        finally:
            line.close()

    def _choose(self, rng: random.Random) -> Command:
        out = sorted(self.on_loan)
        if out and (len(out) == len(self.barcodes) or rng.random() < RETURN_SHARE):
            barcode = rng.choice(out)
            return Command("return_copy", barcode, self.copies[barcode])
        barcode = rng.choice([b for b in self.barcodes if b not in self.on_loan])
        return Command("lend", barcode, self.copies[barcode], rng.choice(self.patrons))

    def _send(self, command: Command, line: Line) -> None:
        pause = FIRST_PAUSE
        while True:
            command.attempts += 1
            try:
                reply = line.call(command.kind, command.payload)
            except RemoteError as error:
                if error.exc_type in ANSWERS:
                    command.finish("refused", f"{error.exc_type}: {error.value}")
                    self._learn(command)
                    return
                failure = error.exc_type
            except Exception as error:  # a timeout, the broker gone: reconnect and ask again
                failure = type(error).__name__
                line.close()
            else:
                command.finish("ok", reply)
                self._learn(command)
                return
            command.failures.append(failure)
            if time.monotonic() - command.sent_at > self.give_up_after:
                command.finish("unanswered", failure)
                return
            eventlet.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def _learn(self, command: Command) -> None:
        """What the answer says about the copy (a refusal tells too)."""
        text = str(command.answer)
        if command.barcode not in self.copies:
            return  # not one of the desks' copies (the poison)
        if command.kind == "lend" and (command.outcome == "ok" or "already on loan" in text):
            self.on_loan.add(command.barcode)
        elif command.kind == "return_copy" and (command.outcome == "ok" or "not on loan" in text):
            self.on_loan.discard(command.barcode)

    # ------------------------------------------------------------ what happened

    @property
    def answered(self) -> int:
        return sum(1 for c in self.commands if c.outcome != "pending")

    def longest_silence(self, since: float, until: float) -> tuple[float, float]:
        """The longest stretch in [since, until] in which no desk got any answer, and when
        the answer that ended it came."""
        moments = sorted(
            c.answered_at
            for c in self.commands
            if c.answered_at is not None and since <= c.answered_at <= until
        )
        edges = [since, *moments] if moments else [since, until]
        gap, end = max((b - a, b) for a, b in zip(edges, edges[1:], strict=False))
        return gap, end


class Line:
    """A desk's own RPC connection to circulation, (re)opened when needed."""

    def __init__(self, config: dict[str, Any], timeout: float) -> None:
        self.config = config
        self.timeout = timeout
        self._proxy: ServiceRpcProxy | None = None
        self._client: Any = None

    def call(self, method: str, payload: dict[str, Any]) -> Any:
        if self._client is None:
            self._proxy = ServiceRpcProxy("circulation", self.config, timeout=self.timeout)
            self._client = self._proxy.start()
        return getattr(self._client, method)(payload)

    def close(self) -> None:
        proxy, self._proxy, self._client = self._proxy, None, None
        if proxy is None:
            return
        try:
            proxy.stop()
        except Exception:  # its connection is already gone
            _log.debug("closing a desk's RPC connection", exc_info=True)
