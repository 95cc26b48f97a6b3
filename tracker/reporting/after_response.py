"""Work a request does for later requests, run once its response has been sent.

A full build of the flat overview keeps the document and the parts a patch needs (several MB written to
the cache); the response needs neither. config.middleware opens a queue for every request and runs it
when the response is closed (the WSGI server closes it once the body is sent); outside one (Celery tasks,
commands, tests calling the domain directly) the work runs at once. What is queued must be safe to lose:
a later request that finds nothing kept builds in full, and the cache tokens make that exact.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

logger = logging.getLogger(__name__)

_queue: ContextVar[list[Callable[[], None]] | None] = ContextVar("tracker_after_response", default=None)


@contextmanager
def after_response_queue() -> Iterator[list[Callable[[], None]]]:
    """Collect the work queued in the block (nested blocks share the outer queue); the caller runs it."""
    queued = _queue.get()
    if queued is not None:
        yield []
        return
    queued = []
    token = _queue.set(queued)
    try:
        yield queued
    finally:
        _queue.reset(token)


def after_response(work: Callable[[], None]) -> None:
    """Run `work` once the response is sent, or now when no request is being answered."""
    queued = _queue.get()
    if queued is None:
        work()
    else:
        queued.append(work)


def run_queued(queued: list[Callable[[], None]]) -> None:
    """Run each piece of work; one that fails is logged and costs only what it would have kept."""
    for work in queued:
        try:
            work()
        except Exception:  # whatever failed, the response is already sent: a later request builds in full
            logger.exception("work after the response failed")
    queued.clear()
