"""Messaging over RabbitMQ: names, quorum queues, publishing, relay, subscribing, RPC, rights."""
