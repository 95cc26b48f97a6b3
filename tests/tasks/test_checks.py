"""The webhook retry cap stays below the broker's visibility timeout (docs/reliability.md): a retry that
waits longer is handed to a second worker. `manage.py check` refuses such a configuration with
qinglian.E001, and a Celery worker refuses to start on it."""

from __future__ import annotations

import os
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.settings import base
from tasks.checks import webhook_retry_below_visibility_timeout

from .conftest import CELERY, ROOT

REDIS = "redis://127.0.0.1:6379/0"


def test_the_default_configuration_keeps_retries_below_the_visibility_timeout(settings):
    settings.CELERY_BROKER_URL = REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = base.REDIS_TRANSPORT_OPTIONS
    settings.WEBHOOK_RETRY_MAX_SECONDS = base.WEBHOOK_RETRY_MAX_SECONDS

    assert base.REDIS_TRANSPORT_OPTIONS["visibility_timeout"] > base.WEBHOOK_RETRY_MAX_SECONDS
    assert webhook_retry_below_visibility_timeout() == []


@pytest.mark.parametrize(("cap", "timeout"), [(3600, 3600), (7200, 3600), (5, 4)])
def test_a_retry_cap_not_below_the_visibility_timeout_is_refused(settings, cap, timeout):
    settings.CELERY_BROKER_URL = REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": timeout}
    settings.WEBHOOK_RETRY_MAX_SECONDS = cap

    with pytest.raises(SystemCheckError, match="qinglian.E001"):
        call_command("check")


def test_without_a_visibility_timeout_set_kombus_default_counts(settings):
    settings.CELERY_BROKER_URL = REDIS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.WEBHOOK_RETRY_MAX_SECONDS = 3600  # kombu's default timeout is 3600 s
    assert [error.id for error in webhook_retry_below_visibility_timeout()] == ["qinglian.E001"]


def test_a_broker_without_visibility_timeout_needs_no_cap(settings):
    settings.CELERY_BROKER_URL = "filesystem://localhost/"  # the embedded demo's
    settings.WEBHOOK_RETRY_MAX_SECONDS = 10**6
    assert webhook_retry_below_visibility_timeout() == []


@pytest.mark.serial
@pytest.mark.integration
def test_a_worker_refuses_to_start_on_such_a_configuration(redis_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        CELERY_BROKER_URL=redis_server.url,
        CELERY_VISIBILITY_TIMEOUT="600",
        WEBHOOK_RETRY_MAX_SECONDS="900",
        QINGLIAN_VAR_DIR=str(tmp_path),
    )
    args = [CELERY, "-A", "config", "worker", "-P", "solo", "--without-mingle", "--without-gossip"]

    worker = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)

    assert worker.returncode != 0
    assert "qinglian.E001" in worker.stderr
    assert " ready." not in worker.stdout + worker.stderr
