"""Run one function in several threads released at the same moment, each with its own database
connection (closed when it is done), for the tests of concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_at_once(fn: Callable[[], T], *, threads: int, timeout: float = 60) -> tuple[list[T], list[Exception]]:
    """fn() in `threads` threads started together; returns (their results, the exceptions they raised)."""
    barrier = threading.Barrier(threads)
    results: list[T] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - collected for the test to fail on
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    return results, errors
