"""Start-up checks of the Celery configuration (Django's system checks, tag "celery").

A webhook retry waits in the worker as a message with a countdown (tasks/webhooks.py). Redis hands a
message that a worker has held longer than the broker's visibility timeout to a second worker; a
countdown that can reach the timeout therefore runs the attempt twice. `manage.py check` (and migrate,
which runs before the app starts) refuses such a configuration, and so does a worker at start
(config/celery.py).
https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

CELERY = "celery"
# kombu's default for Redis when the transport options do not set one.
KOMBU_VISIBILITY_TIMEOUT = 3600


def visibility_timeout() -> float | None:
    """The broker's visibility timeout in seconds; None for a broker that has none (the demo's)."""
    if not str(settings.CELERY_BROKER_URL).startswith(("redis://", "rediss://", "sentinel://")):
        return None
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    return float(options.get("visibility_timeout", KOMBU_VISIBILITY_TIMEOUT))


@register(CELERY, deploy=False)
def webhook_retry_below_visibility_timeout(app_configs=None, **kwargs) -> list[Error]:
    timeout = visibility_timeout()
    cap = float(settings.WEBHOOK_RETRY_MAX_SECONDS)
    if timeout is None or cap < timeout:
        return []
    return [
        Error(
            f"WEBHOOK_RETRY_MAX_SECONDS ({cap:g}) is not below the broker's visibility timeout ({timeout:g} s): "
            "a webhook retry waiting that long would be handed to a second worker and posted twice.",
            hint="Lower WEBHOOK_RETRY_MAX_SECONDS or raise CELERY_VISIBILITY_TIMEOUT.",
            id="qinglian.E001",
        )
    ]
