"""kill -9 of the SIP2 service mid-session: the kiosk reconnects to the restarted process,
sends its checkout again, and the book is lent once (the command id is the message's)."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import free_port, wait_until
from tests.integration.conftest import rpc_consumers
from tests.integration.test_gateway import ALL_SERVICES, start_gateway
from tests.integration.test_sip2 import Library, Line, sip2_config


@pytest.fixture
def config(config):
    """The test config with a SIP2 listener of its own, for the ``nameko run`` process too."""
    return sip2_config(config, free_port())


def accepting(port: int) -> bool:
    try:
        Line(port, timeout=2).close()
    except OSError:
        return False
    return True


def test_a_checkout_resent_after_kill_9_and_restart_lends_once(
    runner_factory, config, nameko_processes
):
    api = start_gateway(runner_factory, config, *ALL_SERVICES)  # every service but sip2
    library = Library(api.base, api.tokens, api.runner)
    library.port = port = config["SIP2"]["listeners"][0]["port"]
    library.kiosk_account()
    [process] = nameko_processes("sip2")
    wait_until(lambda: accepting(port), timeout=30, what="the SIP2 listener")
    barcode = library.add_books(title="呼兰河传")[0]
    patron = library.card(name="李雷")

    line = library.signed_in_line()
    checkout = line.kiosk.checkout(patron, barcode)
    first = line.ask(checkout)
    assert first.fixed["ok"] == "1", first.raw

    process.send_signal(signal.SIGKILL)
    process.wait()
    assert line.closed()
    wait_until(lambda: not rpc_consumers(config, "sip2"), timeout=30, what="the process gone")
    nameko_processes("sip2")
    wait_until(lambda: accepting(port), timeout=30, what="the SIP2 listener again")

    again = Line(port, kiosk=line.kiosk)  # the same kiosk, reconnected
    assert again.sign_in().fixed["ok"] == "1"
    resent = again.ask(checkout)  # the same 11, byte for byte
    assert resent.fixed["ok"] == "1", resent.raw
    assert resent.first("AH") == first.first("AH")
    [loan] = library.loans(patron)
    assert loan["barcode"] == barcode

    # The kiosk makes the checkout again (a new transaction date, a new command): the
    # book is his already, so it is answered as lent; another reader is refused.
    remade = again.ask(again.kiosk.checkout(patron, barcode))
    assert remade.fixed["ok"] == "1" and remade.first("AH") == first.first("AH")
    other = library.card(name="韩梅梅")
    later = again.ask(again.kiosk.checkout(other, barcode))
    assert later.fixed["ok"] == "0" and later.first("AF") == "该书已借出"
    assert [x["barcode"] for x in library.loans(patron)] == [barcode]
    assert library.loans(other) == []
