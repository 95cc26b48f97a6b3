"""The beat schedule that `migrate` creates, the Celery task names, and the daily digest."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import mail
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery import app
from tracker import models as m
from tracker.reporting.daily_digest import daily_digest_send

pytestmark = pytest.mark.django_db
schedule = importlib.import_module("tasks.migrations.0001_periodic_tasks")


def test_migrate_schedules_the_sweep_the_relay_and_the_daily_digest(settings):
    rows = {p.task: p for p in PeriodicTask.objects.select_related("interval", "crontab")}

    sweep, relay, digest = rows["tracker.sweep"], rows["tracker.relay_events"], rows["tracker.daily_digest"]
    assert (sweep.interval.every, sweep.interval.period) == (settings.TRACKER["SWEEP_EVERY_MINUTES"], "minutes")
    assert (relay.interval.every, relay.interval.period) == (1, "minutes")
    assert (digest.crontab.hour, digest.crontab.minute) == (str(settings.TRACKER["DIGEST_HOUR"]), "0")
    assert str(digest.crontab.timezone) == settings.TIME_ZONE
    assert all(p.enabled for p in rows.values())


def test_the_schedule_migration_is_idempotent_and_keeps_one_row_per_name():
    before = PeriodicTask.objects.count()
    schedule.create_schedule(apps, None)
    schedule.create_schedule(apps, None)
    assert PeriodicTask.objects.count() == before
    assert PeriodicTask.objects.filter(task="tracker.sweep").count() == 1


def test_every_scheduled_task_is_registered_with_the_worker():
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert scheduled <= set(app.tasks)
    assert {"tracker.sweep", "tracker.deliver_webhook", "tracker.daily_digest"} <= set(app.tasks)


def test_the_daily_digest_tells_supervisors_and_inspectors_about_their_scope(district):
    now = timezone.now()
    for user, language in [(district.supervisor, "en"), (district.inspector, ""), (district.other_supervisor, "en")]:
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
        user.memberships.update(language=language)
    m.Task.objects.filter(cycle=district.cycle).update(due_at=now - timedelta(days=2))
    m.Flag.objects.create(cycle=district.cycle, school=district.school_a, severity="critical", opened_at=now)
    m.Flag.objects.create(cycle=district.cycle, school=district.school_b, severity="warning", opened_at=now)

    sent = daily_digest_send(now=now)

    assert sent == 3
    by_to = {msg.to[0].split("@")[0]: msg for msg in mail.outbox}
    supervisor = by_to[district.supervisor.username]
    assert supervisor.subject == "Qinglian daily digest: Putuo Education Bureau"
    assert "Open flags: 1 critical, 1 warning" in supervisor.body
    assert "Overdue tasks: 2" in supervisor.body
    inspector = by_to[district.inspector.username]
    assert "严重1个,一般1个" in inspector.body
    other = by_to[district.other_supervisor.username]
    assert "Open flags: 0 critical, 0 warning" in other.body
