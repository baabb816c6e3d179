"""The gateway's session cache: a session's caller kept a few seconds, never a key's,
never past the session's end, and none kept across a clear."""

from datetime import UTC, datetime, timedelta

from services.gateway.auth import Caller
from services.gateway.session_cache import SessionCache


def caller(kind: str = "session", token: str = "t1", ends_in: float = 3600) -> Caller:
    ends = (datetime.now(UTC) + timedelta(seconds=ends_in)).isoformat()
    return Caller(kind, "a1", "zhang-li", "张丽", ("librarian",), frozenset({"desk"}),
                  expires_at=ends, token=token)  # fmt: skip


def test_a_session_is_kept_for_its_seconds_then_asked_again():
    cache = SessionCache(5)
    cache.keep(caller(), cache.generation, now=100.0)
    assert cache.get("t1", now=104.9).username == "zhang-li"
    assert cache.get("t1", now=105.0) is None
    assert cache.get("t1", now=101.0) is None  # forgotten once stale


def test_never_past_the_sessions_end_and_never_a_key():
    cache = SessionCache(5)
    cache.keep(caller(ends_in=1), cache.generation, now=100.0)
    assert cache.get("t1", now=100.5) is not None
    assert cache.get("t1", now=101.5) is None
    cache.keep(caller(kind="key", token="k.1"), cache.generation, now=100.0)
    assert cache.get("k.1", now=100.0) is None


def test_a_clear_forgets_all_and_an_answer_asked_before_it_is_not_kept():
    cache = SessionCache(5)
    cache.keep(caller(), cache.generation, now=100.0)
    asked_at = cache.generation
    cache.clear()
    assert cache.get("t1", now=100.0) is None
    cache.keep(caller(), asked_at, now=100.0)
    assert cache.get("t1", now=100.0) is None


def test_zero_seconds_keeps_nothing_and_the_oldest_go_first():
    off = SessionCache(0)
    off.keep(caller(), off.generation, now=100.0)
    assert off.get("t1", now=100.0) is None
    small = SessionCache(5, size=2)
    for token in ("a", "b", "c"):
        small.keep(caller(token=token), small.generation, now=100.0)
    assert [small.get(t, now=100.0) is not None for t in ("a", "b", "c")] == [False, True, True]
