from __future__ import annotations

from tracker.notify.deliveries import DELIVER_TASK, delivery_attempt

from .policy import job


@job(name=DELIVER_TASK, max_retries=None, bind=True)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """One attempt; a failure retries after the service's backoff (exponential, jittered, capped)
    until WEBHOOK_MAX_ATTEMPTS, when the delivery is marked failed and stays visible in the API."""
    result = delivery_attempt(delivery_id=delivery_id)
    if result is None:
        return None
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in, max_retries=None)
    return result.status
