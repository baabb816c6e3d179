"""Fault scripts: a stream of lends and returns while processes die and servers restart.

They run on a RabbitMQ node and a PostgreSQL cluster of their own
(``infra/extra_rabbit.sh``, ``infra/extra_postgres.sh``), never on the shared
ones. Small size inside ``make test``; full size by hand with
``.venv/bin/python -m tests.faults.run --size full``. See docs/faults.md.
"""
