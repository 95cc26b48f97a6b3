"""Hand a Celery task to the broker by name: the domain never imports tasks/ (docs/architecture.md)."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: object) -> bool:
    """Publish once, without Celery's own retries; False (and a warning) when the broker refused it.

    Callers keep a durable record of what they enqueue (EventDispatch, WebhookDelivery), so a message
    lost to a broker outage is re-sent by the relay or the sweep, never lost.
    """
    try:
        current_app.send_task(
            task_name, args=list(args), retry=False, publish_timeout=settings.CELERY_BROKER_PUBLISH_TIMEOUT
        )
    except Exception as exc:  # noqa: BLE001 - any broker failure: the caller's record makes it re-sent
        logger.warning("%s%r not enqueued now (%s); it will be re-sent", task_name, args, exc)
        return False
    return True
