"""The one retry policy of every Celery task: retry only transient database errors (a dropped
connection, a failover), with exponential backoff, jitter and a cap. A missing row or a rule
violation returns (the services are idempotent), it does not retry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import OperationalError

TRANSIENT_ERRORS = (OperationalError,)
BACKOFF_MAX_SECONDS = 300


def job(*, name: str, max_retries: int | None = 5, **options: Any) -> Callable[[Callable], Any]:
    """`shared_task` with an explicit name and the retry policy; `max_retries=None` retries forever."""
    return shared_task(
        name=name,
        autoretry_for=TRANSIENT_ERRORS,
        retry_backoff=True,
        retry_backoff_max=BACKOFF_MAX_SECONDS,
        retry_jitter=True,
        max_retries=max_retries,
        **options,
    )
