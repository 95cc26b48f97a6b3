"""Production behind a TLS-terminating proxy (docker-compose.yml). Secrets come from the environment.

`manage.py check --deploy --fail-level WARNING` passes with these settings (tests/security/test_deploy_check.py).
"""

import re

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DEV_SECRET_KEY, REST_FRAMEWORK, SECRET_KEY, env

# Production settings never debug unless told to, and never run on the development secret, whatever
# DJANGO_DEBUG says (base.py refuses it only when DJANGO_DEBUG=false is set explicitly).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
if SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production (config.settings.production)")

# --- HTTPS behind the proxy -----------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Client addresses and throttling --------------------------------------------------------------
# One proxy of ours appends the client's address to X-Forwarded-For; DRF takes that entry (not one the
# client wrote) as the address the login throttle counts. https://www.django-rest-framework.org/api-guide/throttling/
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=1)
REST_FRAMEWORK = {**REST_FRAMEWORK, "NUM_PROXIES": NUM_PROXIES}


def _default_cache_url(broker_url: str) -> str:
    """The broker's Redis server, database 1 (the broker uses 0); in-process memory without Redis."""
    if broker_url.startswith(("redis://", "rediss://")):
        address, _, query = broker_url.partition("?")
        address = re.sub(r"(/\d+)?/?$", "/1", address, count=1)
        return f"{address}?{query}" if query else address
    return "locmemcache://"


# Login counters (config/login_policy.py) must be shared by every web worker (gunicorn runs several): a
# per-process memory cache would multiply the limits by the number of workers.
CACHES = {"default": env.cache_url("CACHE_URL", default=_default_cache_url(CELERY_BROKER_URL))}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Fail fast when Redis is down: the login policy then lets logins through (config/login_policy.py).
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 1, "socket_timeout": 1})

# --- Static files ---------------------------------------------------------------------------------
# WhiteNoise serves the admin's and the API docs' hashed, compressed static files (collectstatic runs
# in the image build), so /api/docs/ needs no proxy and no outside network. It goes right after
# SecurityMiddleware. https://whitenoise.readthedocs.io/en/stable/django.html
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
