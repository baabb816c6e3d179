"""The ``library`` command line: parsing, running a command, and its exit code.

Every command loads the config first (``--config``, else ``LIBRARY_CONFIG``,
else ``infra/config.yml``), runs, and ends with one of the exit codes of
``shared.cli.errors``. Broker, database and service outages end a command
with one line saying what is unreachable, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.cli import errors
from shared.cli.errors import CliError, ServiceDown, Unreachable, UsageError

CONFIG_ENV = "LIBRARY_CONFIG"
STATUS_TIMEOUT = 3.0
COMMAND_TIMEOUT = 120.0

EPILOG = "exit codes:\n" + "\n".join(
    f"  {code}  {text}" for code, text in errors.EXIT_CODES.items()
)


def build_parser() -> argparse.ArgumentParser:
    from shared.cli.roster import ROWS_PER_CHUNK
    from shared.config import SERVICES

    parser = argparse.ArgumentParser(
        prog="library",
        description="Run and watch the school library's services.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"nameko config file (default: ${CONFIG_ENV}, else infra/config.yml)",
    )
    commands = parser.add_subparsers(dest="command", metavar="command", required=True)

    status = commands.add_parser(
        "status", help="services up or down, queues, dead letters, projection lag"
    )
    status.add_argument(
        "services", nargs="*", metavar="service", help="only these (default: all and the gateway)"
    )
    status.add_argument(
        "--timeout", type=_positive, default=STATUS_TIMEOUT, help="seconds to wait per service"
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of tables")
    status.set_defaults(handler=cmd_status)

    scale = commands.add_parser("scale", help="run N instances of a service (e.g. circulation)")
    scale.add_argument("service", choices=SERVICES)
    scale.add_argument("count", type=_count, help="how many instances should run")
    scale.set_defaults(handler=cmd_scale)

    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild a projection from events alone",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    rebuild.add_argument(
        "-h", "--help", action=RebuildHelp, help="show the projections and what a rebuild does"
    )
    rebuild.add_argument("service", choices=SERVICES)
    rebuild.add_argument("projection")
    rebuild.add_argument("--batch", type=_count, default=None, help="events per batch")
    rebuild.set_defaults(handler=cmd_rebuild)

    backup = commands.add_parser(
        "backup", help="dump every database, the broker's definitions, the config; or --check one"
    )
    backup.add_argument("directory", help="a new directory (or, with --check, a backup's)")
    backup.add_argument("--check", action="store_true", help="check a backup against its manifest")
    backup.add_argument(
        "--no-broker", action="store_true", help="leave the broker's definitions out"
    )
    backup.set_defaults(handler=cmd_backup)

    restore = commands.add_parser(
        "restore", help="restore a backup's databases (the services stopped first)"
    )
    restore.add_argument("directory", help="a directory written by `library backup`")
    restore.add_argument(
        "--service",
        action="append",
        choices=SERVICES,
        dest="services",
        default=[],
        help="only this service's database (may be repeated; default: all)",
    )
    restore.add_argument(
        "--events-only",
        action="store_true",
        help="restore the event stores only, then rebuild every read model from events",
    )
    restore.add_argument("--broker", action="store_true", help="also load the broker's definitions")
    restore.add_argument(
        "--keep-queues",
        action="store_true",
        help="leave the broker's queues alone (restoring into scratch databases to check a backup)",
    )
    restore.set_defaults(handler=cmd_restore)

    dlq = commands.add_parser("dlq", help="dead letters: list them, send them back")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", metavar="action", required=True)
    listing = dlq_commands.add_parser("list", help="every dead-letter queue, or one's letters")
    listing.add_argument("queue", nargs="?", help="e.g. archives.from.catalog")
    listing.add_argument("--limit", type=_count, default=100)
    listing.set_defaults(handler=cmd_dlq_list)
    retry = dlq_commands.add_parser("retry", help="send a queue's dead letters back to it")
    retry.add_argument("queue")
    retry.add_argument("--limit", type=_count, default=None, help="at most this many")
    retry.set_defaults(handler=cmd_dlq_retry)

    cards = commands.add_parser("import-cards", help="issue cards for a roster (CSV)")
    cards.add_argument("roster", help="CSV with columns name,kind,class,campus[,patron_id]")
    cards.add_argument(
        "--chunk-rows", type=_positive_int, default=ROWS_PER_CHUNK, help="rows per command"
    )
    cards.add_argument(
        "--timeout", type=_positive, default=COMMAND_TIMEOUT, help="seconds to wait per chunk"
    )
    cards.set_defaults(handler=cmd_import_cards)

    people = commands.add_parser("accounts", help="make an account or reset a password (console)")
    people_commands = people.add_subparsers(
        dest="accounts_command", required=True, metavar="ACTION"
    )
    make = people_commands.add_parser(
        "create", help="a staff account (the first librarian) or a self-check kiosk's"
    )
    make.add_argument("username")
    make.add_argument("--name", required=True, help="the person's name, e.g. 王建华")
    make.add_argument(
        "--role",
        action="append",
        required=True,
        dest="roles",
        choices=("librarian", "assistant", "operator", "kiosk"),
        help="may be repeated (a kiosk's account is a kiosk only)",
    )
    make.add_argument(
        "--campus", choices=("north", "south"), help="an assistant's desk, a kiosk's campus"
    )
    make.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    make.set_defaults(handler=cmd_accounts_create)
    reset = people_commands.add_parser("reset-password", help="set a new password")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    reset.set_defaults(handler=cmd_accounts_reset)

    keys = commands.add_parser("keys", help="API keys of other school systems, the bench, tests")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_commands.add_parser(
        "create", help="make a key (printed once) and, if it reads events, its broker user"
    )
    create.add_argument("name", help="the system's name (letters, digits, '.', '_', '-')")
    create.add_argument(
        "--rights",
        required=True,
        help="comma-separated, e.g. events.read or events.read,events.personal",
    )
    create.add_argument("--json", action="store_true", help="print the key as JSON")
    create.set_defaults(handler=cmd_keys_create)
    keys_commands.add_parser("list", help="every key, with its rights").set_defaults(
        handler=cmd_keys_list
    )
    revoke = keys_commands.add_parser(
        "revoke", help="stop a key for good; deletes its broker user and queues"
    )
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_keys_revoke)

    demo = commands.add_parser("demo", help="load the demo school (once) and print the URL")
    demo.set_defaults(handler=cmd_demo)
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _positive_int(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class RebuildHelp(argparse.Action):
    """``library rebuild --help``: the projections, found in the services' code only when
    asked (importing every service would slow every other command)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from shared.cli.rebuild import help_text

        parser.description, parser.epilog = help_text()
        parser.print_help()
        parser.exit()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``library`` console script; returns the exit code."""
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return int(exit_.code or 0)
    try:
        with _config_path(args.config):
            config = _load_config()
            return args.handler(args, config)
    except CliError as error:
        _say_error(error.message)
        return error.exit_code
    except KeyboardInterrupt:
        _say_error("interrupted")
        return errors.INTERRUPTED
    except BrokenPipeError:  # `library ... | head`: the reader has what it wanted
        _reader_gone()
        return errors.OK
    except Exception as error:
        translated = translate(error)
        if translated is None:
            raise
        _say_error(translated.message)
        return translated.exit_code


def translate(error: Exception) -> CliError | None:
    """The console's error for an outage that escaped a command, if it is one."""
    import psycopg2
    from kombu.exceptions import OperationalError as BrokerError
    from nameko.exceptions import RpcTimeout, UnknownService

    from shared.storage.pool import DatabaseUnavailable

    reason = (str(error).strip() or type(error).__name__).splitlines()[0]
    if isinstance(error, psycopg2.OperationalError | DatabaseUnavailable):
        return Unreachable(f"PostgreSQL cannot be reached: {reason}")
    if isinstance(error, BrokerError | ConnectionError):
        return Unreachable(f"RabbitMQ cannot be reached: {reason}")
    if isinstance(error, RpcTimeout):
        return ServiceDown(f"a service did not answer in time ({reason}s)")
    if isinstance(error, UnknownService):
        return ServiceDown(f"{reason}: it is not running")
    return None


@contextmanager
def _config_path(path: str | None) -> Iterator[None]:
    """Point ``LIBRARY_CONFIG`` at ``--config`` while the command runs (tools it delegates
    to load the config themselves), and put it back afterwards."""
    if path is None:
        yield
        return
    before = os.environ.get(CONFIG_ENV)
    os.environ[CONFIG_ENV] = path
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = before


def _load_config() -> dict[str, Any]:
    import yaml

    from shared.config import load_config

    path = os.environ.get(CONFIG_ENV)
    try:
        return load_config(path)
    except FileNotFoundError:
        raise UsageError(f"no config file {path}") from None
    except yaml.YAMLError as error:
        where = path or "infra/config.yml"
        raise UsageError(f"the config file {where} is not YAML: {error}") from None


def _console() -> Any:
    from rich.console import Console

    class PipedConsole(Console):
        """rich's console, going on quietly when the reader of its pipe leaves (``| head``),
        where rich would exit 1: the command's own exit code stands."""

        def on_broken_pipe(self) -> None:
            self.quiet = True
            _reader_gone()

    return PipedConsole(highlight=False)


def _say_error(message: str) -> None:
    print(f"library: {message}", file=sys.stderr)


def _reader_gone() -> None:
    """The pipe we print into was closed (``| head``): send what is still buffered nowhere,
    so that Python's flush at exit neither fails nor prints a traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# ---------------------------------------------------------------- commands


def cmd_status(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import status

    names = status.services_to_check(args.services)
    unknown = [name for name in names if name not in status.services_to_check([])]
    if unknown:
        known = ", ".join(status.services_to_check([]))
        raise UsageError(f"no service {', '.join(unknown)} (there are: {known})")
    report = status.gather(config, names, args.timeout)
    try:
        if args.json:
            print(json.dumps(report.as_dict(), indent=2))
        else:
            status.render(report, _console())
        sys.stdout.flush()
    except BrokenPipeError:  # `library status --json | head -1`: still say what it found
        _reader_gone()
    return report.exit_code


def cmd_scale(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import broker, scale

    before = scale.running(args.service)
    start, stop = scale.plan(args.service, args.count, before, scale.configured(args.service))
    scale.services_sh("start", start)
    scale.services_sh("stop", stop)
    now = scale.running(args.service)
    listed = ", ".join(now) or "none"
    print(f"{args.service}: {len(now)} instance(s) running ({listed})")
    # RabbitMQ's own count (its statistics are a few seconds behind): instances that
    # really consume the service's RPC queue.
    consumers = None
    deadline = time.monotonic() + scale.CONSUMERS_TIMEOUT
    try:
        while True:
            consumers = broker.rpc_consumers(broker.queues(config), args.service)
            if consumers == len(now) or time.monotonic() > deadline:
                break
            time.sleep(1)
    except Unreachable:
        pass  # the processes are the answer; the broker's view is a bonus
    if consumers is not None:
        print(f"{args.service}: {consumers} consumer(s) on rpc-{args.service}")
    if len(now) != args.count:
        raise errors.CommandFailed(f"asked for {args.count} instance(s), {len(now)} running")
    return errors.OK


def cmd_rebuild(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli.rpc import Services
    from shared.runtime.topology import service_projections

    projections = {p.name: p for p in service_projections(args.service)}
    if args.projection not in projections:
        known = ", ".join(sorted(projections)) or "none"
        raise UsageError(f"{args.service} has no projection {args.projection!r} (it has: {known})")
    with Services(config, timeout=STATUS_TIMEOUT) as rpc:
        for source in dict.fromkeys([args.service, *projections[args.projection].sources]):
            rpc.call(source, "health")
    from shared.cli.rebuild import main as rebuild

    argv = [args.service, args.projection]
    if args.batch:
        argv += ["--batch", str(args.batch)]
    code = rebuild(argv)
    return errors.OK if code == 0 else errors.USAGE if code == 2 else errors.FAILED


def cmd_backup(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from pathlib import Path

    from shared.cli import backup

    if args.check:
        backup.check(Path(args.directory), _say)
    else:
        backup.take(config, Path(args.directory), _say, broker=not args.no_broker)
    return errors.OK


def cmd_restore(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from pathlib import Path

    from shared.cli import restore

    restore.restore(
        config,
        Path(args.directory),
        _say,
        args.services,
        args.events_only,
        args.broker,
        args.keep_queues,
    )
    return errors.OK


def _say(line: str) -> None:
    print(line, flush=True)


def cmd_dlq_list(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from rich.table import Table

    from shared.cli import broker, dlq

    console = _console()
    if args.queue is None:
        dead = [q for q in broker.queues(config) if q.is_dead_letters]
        table = Table(title="Dead-letter queues", title_justify="left")
        table.add_column("queue")
        table.add_column("messages", justify="right")
        for queue in dead:
            table.add_row(queue.name, f"[red]{queue.messages}[/]" if queue.messages else "0")
        console.print(table)
        print(f"{sum(q.messages for q in dead)} dead letter(s) in {len(dead)} queue(s)")
        return errors.OK
    name = dlq.check_name(args.queue)
    dlq.require_dead_letter_queue(config, name)
    letters = dlq.letters(config, name, args.limit)
    table = Table(title=f"{name}{broker.DLQ_SUFFIX}", title_justify="left")
    for column in ("#", "event", "failed at", "projection", "error", "message id"):
        table.add_column(column, overflow="fold")
    for number, letter in enumerate(letters, start=1):
        table.add_row(
            str(number),
            letter.event,
            letter.failed_at,
            letter.projection,
            letter.error,
            letter.message_id,
        )
    console.print(table)
    more = " (the first ones; --limit shows more)" if len(letters) == args.limit else ""
    print(f"{len(letters)} dead letter(s) in {name}{broker.DLQ_SUFFIX}{more}")
    return errors.OK


def cmd_accounts_create(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import accounts

    password = accounts.read_password(args.password_stdin)
    made = accounts.create(
        config, args.username, args.name, args.roles, args.campus, password, COMMAND_TIMEOUT
    )
    print(f"made {made['username']} ({made['name']}): {', '.join(made['roles'])}")
    return errors.OK


def cmd_accounts_reset(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import accounts

    password = accounts.read_password(args.password_stdin)
    done = accounts.reset_password(config, args.username, password, COMMAND_TIMEOUT)
    print(f"new password for {done['username']}: every session of the account has ended")
    return errors.OK


def cmd_keys_create(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import keys

    made = keys.create(config, args.name, keys.rights_of(args.rights), COMMAND_TIMEOUT)
    if args.json:
        print(json.dumps(made, indent=2))
        return errors.OK
    print(f"key {made['name']} with rights {', '.join(made['rights'])}")
    print(f"  API key (shown once; send as 'Authorization: Bearer <key>'): {made['api_key']}")
    if "broker" in made:
        broker = made["broker"]
        print(f"  RabbitMQ login (shown once): {broker['amqp_uri']}")
        print(f"  its queues: {broker['queues']}; it may read {', '.join(broker['exchanges'])}")
    return errors.OK


def cmd_keys_list(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from rich.table import Table

    from shared.cli import keys

    table = Table(title="API keys", title_justify="left")
    for column in ("name", "rights", "created", "revoked"):
        table.add_column(column)
    found = keys.listing(config, COMMAND_TIMEOUT)
    for key in found:
        table.add_row(key["name"], ", ".join(key["rights"]), key["created_at"][:16],
                      (key["revoked_at"] or "")[:16])  # fmt: skip
    _console().print(table)
    print(f"{len(found)} key(s), {sum(1 for k in found if not k['revoked_at'])} in use")
    return errors.OK


def cmd_keys_revoke(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import keys

    key = keys.revoke(config, args.name, COMMAND_TIMEOUT)
    print(f"revoked {key['name']}: it no longer signs in; its broker user and queues are gone")
    return errors.OK


def cmd_dlq_retry(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli import dlq

    name = dlq.check_name(args.queue)
    dlq.require_dead_letter_queue(config, name)
    moved = dlq.retry(config, name, args.limit)
    print(f"sent {moved} dead letter(s) back to {name}")
    return errors.OK


def cmd_import_cards(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from shared import roster_files
    from shared.cli import roster
    from shared.cli.rpc import Services

    # As the school office saved it: CSV in UTF-8 (BOM or not) or GBK/GB18030, or XLSX.
    media = roster_files.XLSX if str(args.roster).lower().endswith(".xlsx") else roster_files.CSV
    try:
        with open(args.roster, "rb") as handle:
            text = roster_files.decode_roster(handle.read(), media, max_text=1 << 30)
    except FileNotFoundError:
        raise UsageError(f"no such file: {args.roster}") from None
    except (OSError, roster_files.UnreadableRoster) as error:
        raise errors.CommandFailed(f"cannot read {args.roster}: {error}") from None
    chunks = roster.split_roster(text, args.chunk_rows)
    total = sum(chunk.rows for chunk in chunks)
    console = _console()
    started = time.monotonic()
    sent = 0

    with Services(config, timeout=args.timeout) as rpc:

        def send(payload: dict[str, Any]) -> dict[str, Any]:
            return rpc.call("circulation", "import_cards", payload)

        def advance(rows: int) -> None:
            nonlocal sent
            sent += rows
            bar.advance(task, rows)

        columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"))
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("rows", total=total)
            try:
                result = roster.import_roster(text, send, advance, chunks)
            except CliError as error:
                if sent:
                    error.message += (
                        f" ({sent} of {total} rows were imported before; running the same "
                        "command again issues no card twice)"
                    )
                raise
    seconds = time.monotonic() - started
    console.print(
        f"issued {len(result.issued)} card(s) from {total} row(s) in {len(chunks)} "
        f"command(s), {seconds:.1f}s"
    )
    if not result.errors:
        return errors.OK
    from rich.table import Table

    table = Table(title=f"{len(result.errors)} row(s) not imported", title_justify="left")
    table.add_column("line", justify="right")
    table.add_column("problem", overflow="fold")
    for error in result.errors:
        table.add_row(str(error["line"]), roster.describe(error.get("errors", {})))
    console.print(table)
    return errors.FAILED


def cmd_demo(args: argparse.Namespace, config: dict[str, Any]) -> int:
    from shared.cli.demo import main as load_demo

    return load_demo([])


def run() -> None:
    """``python -m shared.cli``."""
    sys.exit(main())
