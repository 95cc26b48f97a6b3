"""Production settings pass Django's deployment checklist and refuse to start on the development secret.

Each case runs manage.py in a fresh process with production's environment, as the container does.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "config.settings.production"


def run(*args: str, env: dict[str, str], unset: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in unset}
    full.update(env)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120, check=False
    )


def production_env(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "example.org",
        **extra,
    }


def test_check_deploy_passes_at_warning_level_with_production_settings() -> None:
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret() -> None:
    """The check above can fail: a short secret is flagged (security.W009)."""
    result = run(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env(DJANGO_SECRET_KEY="short")
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret() -> None:
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = run("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_the_development_secret_even_without_djangodebug() -> None:
    env = production_env()
    del env["DJANGO_SECRET_KEY"], env["DJANGO_DEBUG"]
    result = run("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_any_settings_refuse_the_development_secret_when_debug_is_off() -> None:
    result = run("manage.py", "check", env={"DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_DEBUG": "false"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_shares_throttle_counters_and_trusts_one_proxy() -> None:
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'debug': s.DEBUG, 'cache': s.CACHES['default'], "
        "'proxies': s.REST_FRAMEWORK['NUM_PROXIES'], 'ssl': s.SECURE_SSL_REDIRECT, "
        "'proxy_header': s.SECURE_PROXY_SSL_HEADER, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE]}))"
    )
    result = run("-c", probe, env=production_env(CELERY_BROKER_URL="redis://redis:6379/0"), unset=("CACHE_URL",))
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout.strip().splitlines()[-1])
    assert settings["debug"] is False
    assert settings["cache"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings["cache"]["LOCATION"] == "redis://redis:6379/1"
    assert settings["proxies"] == 1
    assert settings["ssl"] is True
    assert settings["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["hsts"] >= 31536000
    assert settings["cookies"] == [True, True]
