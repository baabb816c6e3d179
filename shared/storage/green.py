"""Make psycopg2 cooperative under eventlet.

nameko runs every worker in a green thread; a psycopg2 call that blocks the
process would stall them all. psycogreen installs a wait callback that yields to
the eventlet hub while PostgreSQL works. Safe to call more than once.
"""

import sys

import psycopg2.extensions

_patched = False


def make_psycopg_green() -> None:
    """Install psycogreen's eventlet wait callback once, when eventlet is patched in."""
    global _patched
    if _patched or psycopg2.extensions.get_wait_callback() is not None:
        _patched = True
        return
    eventlet = sys.modules.get("eventlet")
    if eventlet is None or not eventlet.patcher.is_monkey_patched("socket"):
        return  # plain threads (CLI tools, unit tests): blocking calls are fine
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()
    _patched = True
