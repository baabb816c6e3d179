"""A local mail box for the demo and the tests: an SMTP server (aiosmtpd) on
127.0.0.1:8025 that keeps each message it is handed as a ``.eml`` file.

    .venv/bin/python -m shared.cli.mailbox [--port 8025] [--directory .run/mail]

``make demo`` starts it (infra/services.sh ``mailbox``); the library's notices
(services/circulation/notifying.py) are sent to it, and anyone can open the files
with a mail reader. ``refusing=True`` makes a server that refuses every message
(550), to show that a notice the server would not take is recorded as failed.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
PORT = 8025
DIRECTORY = Path(".run/mail")
REFUSAL = "550 5.7.1 mailbox unavailable: not accepted here"


class KeepAsFiles:
    """aiosmtpd handler: each message accepted is written to ``<directory>/<n>.eml``."""

    def __init__(self, directory: Path, refusing: bool = False) -> None:
        self.directory = directory
        self.refusing = refusing
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusing:
            return REFUSAL
        with self._lock:
            name = f"{time.time_ns()}-{len(list(self.directory.glob('*.eml'))):05d}.eml"
            # Written aside, then renamed: a reader of the folder never sees half a message.
            partial = self.directory / f".{name}.part"
            partial.write_bytes(envelope.original_content or envelope.content)
            partial.replace(self.directory / name)
        return "250 Message accepted for delivery"


class Mailbox:
    """A running mail box: ``start()``, ``messages()``, ``stop()`` (a context manager too)."""

    def __init__(
        self,
        directory: Path = DIRECTORY,
        host: str = HOST,
        port: int = PORT,
        refusing: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.handler = KeepAsFiles(self.directory, refusing)
        self.controller = Controller(self.handler, hostname=host, port=port)

    @property
    def address(self) -> str:
        return f"{self.controller.hostname}:{self.controller.port}"

    def start(self) -> Mailbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """The messages kept so far, oldest first, parsed (subjects and bodies decoded)."""
        return [
            message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[misc]
            for path in sorted(self.directory.glob("*.eml"))
        ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--directory", type=Path, default=DIRECTORY)
    parser.add_argument("--refuse", action="store_true", help="refuse every message (550)")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    with Mailbox(args.directory, args.host, args.port, refusing=args.refuse) as mailbox:
        print(f"[mailbox] SMTP on {mailbox.address}, messages in {args.directory}/", flush=True)
        stopped.wait()


if __name__ == "__main__":
    main()
