"""The Celery application. Tasks live in the `tasks` package; settings come from Django's (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery, signals
from django.core import checks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("qinglian")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks register from tasks.apps.TasksConfig.ready(), once Django is set up.


@signals.worker_init.connect
def refuse_an_unsafe_configuration(**kwargs) -> None:
    """A worker does not start on a configuration the `celery` system checks refuse (tasks/checks.py).

    SystemExit, not an exception: Celery logs an exception raised by a signal receiver and goes on."""
    errors = [message for message in checks.run_checks(tags=["celery"]) if message.is_serious()]
    if errors:
        raise SystemExit("the worker refuses to start:\n" + "\n".join(str(error) for error in errors))
