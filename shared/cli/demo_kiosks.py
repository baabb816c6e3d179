"""The demo's self-check kiosk: an account of role ``kiosk`` at the north campus, and
where it speaks SIP2 (docs/sip2.md).

A kiosk logs in to the SIP2 server with its own account (93: CN username, CO
password, CP location) and lends at its account's campus. The demo makes one for
north and writes what a kiosk is set up with to ``.run/demo.json`` under ``sip2``:
``{"host", "port", "username", "password", "location"}``, the address being the
config's first SIP2 listener. Run again, it keeps the password written there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.cli.demo_accounts import Person, ensure_one, password
from shared.config import Config

KIOSK = Person("kiosk-north", "kiosk-north-1", "北区自助借还机 1", ("kiosk",), "north")
LOCATION = "north"  # the location code (CP) the kiosk logs in with: its campus
ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def listener_address(config: Config) -> tuple[str, int]:
    """Where a kiosk on this machine reaches the first SIP2 listener of the config."""
    listeners = (config.get("SIP2") or {}).get("listeners") or []
    if not listeners:
        raise ValueError("no SIP2.listeners in the config: the kiosks have nowhere to connect")
    first = listeners[0]
    host = str(first.get("host") or "")
    return ("127.0.0.1" if host in ANY_ADDRESS else host), int(first["port"])


def ensure(
    call: Callable[..., Any], config: Config, kept: Mapping[str, Any], say: Callable[[str], None]
) -> dict[str, Any]:
    """The demo kiosk's account (made, or its kept password set again) and its settings."""
    secret = kept.get("password") or password()
    ensure_one(call, KIOSK, secret)
    host, port = listener_address(config)
    say(f"a self-check kiosk's account: {KIOSK.username} (role kiosk, campus {KIOSK.campus})")
    return {
        "host": host,
        "port": port,
        "username": KIOSK.username,
        "password": secret,
        "location": LOCATION,
    }
