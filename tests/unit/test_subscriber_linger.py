"""A subscription's linger: its own when it sets one (accounts), else the config's."""

from services.accounts.service import AccountsService
from shared.messaging.subscriber import LINGER_MS, EventSubscriber, linger_seconds


def test_a_subscription_lingers_its_own_time_else_the_configs():
    assert linger_seconds(None, {}) == LINGER_MS / 1000
    assert linger_seconds(None, {"SUBSCRIBER_LINGER_MS": 0}) == 0
    assert linger_seconds(250, {"SUBSCRIBER_LINGER_MS": 5}) == 0.25


def test_accounts_takes_circulations_events_a_quarter_second_at_a_time():
    entrypoints = AccountsService.on_circulation_events.nameko_entrypoints
    subscriber = next(e for e in entrypoints if isinstance(e, EventSubscriber))
    assert subscriber.sources == ("circulation",) and subscriber.linger_ms == 250
