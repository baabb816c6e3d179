"""Wait until services answer their ``health`` RPC: ``python -m shared.runtime.health catalog ...``.

Exits 0 once every named service answered, 1 (naming the silent ones) after the
timeout. Used by infra/services.sh after starting services.
"""

from __future__ import annotations

import argparse
import sys
import time

from shared.config import SERVICES, load_config


def wait_for(services: list[str], timeout: float) -> list[str]:
    """Return the services that did not answer within ``timeout`` seconds."""
    import eventlet

    eventlet.monkey_patch()
    from nameko.standalone.rpc import ClusterRpcProxy

    config = load_config()
    pending = list(services)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        try:
            with ClusterRpcProxy(config, timeout=5) as cluster:
                for service in list(pending):
                    try:
                        getattr(cluster, service).health()
                        pending.remove(service)
                    except Exception:  # not up yet (UnknownService, timeout, DB not ready)
                        pass
        except Exception:  # broker not reachable yet
            pass
        if pending:
            time.sleep(0.5)
    return pending


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="wait until services answer")
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    names = [name.split("@", 1)[0] for name in args.services]
    silent = wait_for(sorted(set(names)), args.timeout)
    if silent:
        print(f"[health] no answer from: {', '.join(silent)}", file=sys.stderr)
        return 1
    print(f"[health] answering: {', '.join(sorted(set(names)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
