"""Celery for real: a Redis server, a worker and beat as subprocesses, on the test database.

- beat (DatabaseScheduler, the schedule `migrate` creates) runs the sweep, and notifications appear,
  once each however many sweeps run;
- Redis stopped while a school submits, then restarted: the side effect happens, exactly once;
- a webhook receiver answering 503, 503, 200 gets one delivery, with the same id every time.
"""

from __future__ import annotations

import importlib
import re
import time
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.api.test_webhooks import Receiver, verify
from tests.factories import school_a_behind, school_a_just_late
from tracker import models as m
from tracker.audit.relay import events_relay
from tracker.monitoring.sweep import sweep_run
from tracker.notify.services import webhook_create

from .conftest import broker_reconnect, wait_for

pytestmark = [pytest.mark.serial, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

D = timedelta(days=1)
schedule = importlib.import_module("tasks.migrations.0001_periodic_tasks")


def test_beat_runs_the_sweep_and_notifications_appear_once(district, start_celery):
    # given school_a two days late, school_b due in three days (and at risk: untouched since January), and
    # the schedule that migrate makes
    now = timezone.now()
    m.Task.objects.filter(cycle=district.cycle, school=district.school_a).update(due_at=now - 2 * D)
    m.Task.objects.filter(cycle=district.cycle, school=district.school_b).update(due_at=now + 3 * D)
    m.Task.objects.filter(cycle=district.other_cycle).update(due_at=now + 100 * D)
    schedule.create_schedule(apps, None)
    schedule.create_schedule(apps, None)  # idempotent
    assert PeriodicTask.objects.filter(task="tracker.sweep").count() == 1
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task="tracker.sweep").update(interval=every_second)

    # when a worker and beat run, and nobody runs the sweep by hand
    worker = start_celery("worker")
    start_celery("beat")

    def sweeps_done() -> int:
        return len(re.findall(r"Task tracker\.sweep\[[^\]]+\] succeeded", worker.text()))

    wait_for(lambda: sweeps_done() >= 3, timeout=40, what="three scheduled sweeps")

    # then the reminders and flags appeared, each notified once
    a, b, sup = district.school_a_user, district.school_b_user, district.supervisor
    kinds = sorted(m.Notification.objects.values_list("kind", "recipient_id"))
    assert kinds == sorted(
        [
            ("overdue", a.pk),
            ("flag_opened", a.pk),
            ("flag_opened", sup.pk),
            ("due_soon", b.pk),
            ("at_risk", b.pk),
        ]
    )
    assert m.Flag.objects.filter(school=district.school_a, resolved_at__isnull=True).count() == 1
    assert sorted(m.Reminder.objects.filter(task__school=district.school_b).values_list("kind", "stage")) == [
        ("at_risk", 0),
        ("due_soon", -7),
    ]


def test_redis_down_while_a_school_submits_loses_nothing_and_does_it_once(
    district, redis_server, start_celery, client_for
):
    # given school_a behind with one overdue task (a flag is open) and a worker running
    task, flag = school_a_behind(district, now=timezone.now())
    worker = start_celery("worker")

    # when Redis is down while the school submits
    redis_server.stop()
    started = time.monotonic()
    answer = client_for(district.school_a_user).post(f"/api/v1/tasks/{task.pk}/submit/")
    took = time.monotonic() - started

    # then the submission is accepted at once, and its side effect is pending
    assert answer.status_code == 200, answer.content
    assert took < 10
    event = m.Event.objects.get(type="task.submitted", task=task)
    assert m.EventDispatch.objects.get(event=event).done_at is None
    flag.refresh_from_db()
    assert flag.resolved_at is None

    # when Redis is back and the relay runs
    redis_server.start()
    broker_reconnect()
    # (two minutes on: past the event's next_send_at, which is its commit time + EVENT_RELAY_GRACE)
    assert events_relay(now=timezone.now() + timedelta(minutes=2)) >= 1

    # then the worker handles it: the flag is resolved, once
    wait_for(
        lambda: m.EventDispatch.objects.filter(event=event, done_at__isnull=False).exists(),
        timeout=30,
        what="the worker to handle the submitted event",
    )
    flag.refresh_from_db()
    assert flag.resolved_at is not None
    dispatch = m.EventDispatch.objects.get(event=event)
    assert dispatch.attempts == 1
    assert m.Event.objects.filter(type="flag.resolved", subject_id=str(flag.pk)).count() == 1
    # a second relay finds nothing left to do
    assert events_relay(now=timezone.now() + timedelta(minutes=2)) == 0
    assert "Task tracker.handle_event" in worker.text()


def test_a_webhook_answering_503_twice_then_200_gets_one_delivery_with_one_id(district, start_celery, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    now = timezone.now()
    school_a_just_late(district, now=now)
    start_celery("worker")

    with Receiver([503, 503, 200]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        report = sweep_run(now=now)
        assert report.webhooks == 1
        delivery = hook.deliveries.get()
        wait_for(
            lambda: m.WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(),
            timeout=30,
            what="the delivery to succeed",
        )

    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (3, 200)
    assert len(receiver.requests) == 3
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == {delivery.message_id}
    assert all(verify(hook.secret, headers, body) for headers, body in receiver.requests)
