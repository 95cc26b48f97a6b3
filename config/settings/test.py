"""The test suite: PostgreSQL and Redis come from DATABASE_URL / CELERY_BROKER_URL (bin/test)."""

import tempfile

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = tempfile.mkdtemp(prefix="qinglian-media-")
# Tests log in freely; tests/security/test_login_policy.py puts the production limits back.
LOGIN_FAILURES_PER_USERNAME = LOGIN_FAILURES_PER_ADDRESS = 10_000
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"events_verify": "10000/min"}}  # noqa: F405
# The live server of the browser tests wraps the app in a media handler that needs a URL to match
# (base.py's None breaks it): one no page links to, so evidence is still served only by its download view.
MEDIA_URL = "/media-not-served/"
