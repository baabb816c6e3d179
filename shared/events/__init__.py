"""The one event catalogue: every event type any service publishes.

Importing this package registers every event type, so ``CATALOGUE`` is complete
wherever it is used, by publishers and consumers alike.
"""

from shared.events import accounts, activities, archives, catalog, circulation  # noqa: F401
from shared.events.registry import (
    CATALOGUE,
    EventCatalogue,
    EventType,
    InvalidEvent,
    UnknownEventType,
)

__all__ = ["CATALOGUE", "EventCatalogue", "EventType", "InvalidEvent", "UnknownEventType"]
