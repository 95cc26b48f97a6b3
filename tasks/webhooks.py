from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from tracker.services.webhooks import delivery_attempt


@shared_task(
    bind=True,
    name="tracker.deliver_webhook",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=None,
)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """One attempt; a failure retries after the service's backoff (exponential, jittered, capped)
    until WEBHOOK_MAX_ATTEMPTS, when the delivery is marked failed and stays visible in the API."""
    result = delivery_attempt(delivery_id=delivery_id)
    if result is None:
        return None
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in, max_retries=None)
    return result.status
