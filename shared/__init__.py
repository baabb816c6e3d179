"""The common core every library service is built on, in layers.

* ``events``: the event catalogue (every payload's schema), the envelope, the AsyncAPI contract;
* ``storage``: PostgreSQL connections, where each service's database lives, migrations;
* ``eventsourcing``: the decider shape, the event store, the unit of work and the command
  pipeline, projections and their rebuilds;
* ``messaging``: RabbitMQ names and queues, the relay, ``@subscribe``, ``@rpc``, rights;
* ``runtime``: the nameko dependency providers and entrypoints every service shares;
* ``cli``: the operator's ``library`` console and the demo school loader.

``config`` sits beside them: every layer reads its settings from it.
Nothing here imports ``services``.
"""
