"""The Celery application. Tasks live in the `tasks` package; settings come from Django's (CELERY_*)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("qinglian")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks register from tasks.apps.TasksConfig.ready(), once Django is set up.
