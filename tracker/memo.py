"""A memo that lives for one unit of work (one HTTP request): facts that cannot change under it, asked once.

config.middleware opens one for every request; outside one (Celery tasks, commands, the shell, tests
calling the domain directly) nothing is remembered and every question goes to the database. Keys are
tuples naming what is remembered and for whom; only facts the request itself does not change belong here
(the caller's memberships and where they reach; the header's unread count a page read with its own statement,
web.context_processors, which a page written again after a change reads again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[tuple, Any] | None] = ContextVar("tracker_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Remember answers until the block ends (nested blocks share the outer memo)."""
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memo_get(key: tuple) -> Any | None:
    memo = _memo.get()
    return None if memo is None else memo.get(key)


def memo_put(key: tuple, value: T) -> T:
    memo = _memo.get()
    if memo is not None:
        memo[key] = value
    return value


def memoized(key: tuple, compute: Callable[[], T]) -> T:
    """The remembered answer for `key`, else `compute()` (remembered when a memo is open)."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]
