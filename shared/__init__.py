"""The common core every library service is built on.

The event catalogue and envelope define what the services say to each other and
to the rest of the school; the store, relay and consumer implement event sourcing
on PostgreSQL and RabbitMQ; the nameko DependencyProviders wire them into services.
"""
