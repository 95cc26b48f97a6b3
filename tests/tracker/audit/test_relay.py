"""The relay re-sends unfinished events, backing off so a slow queue is not flooded with copies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tracker import models as m
from tracker.assessment.task_services import task_start
from tracker.audit.relay import events_relay

pytestmark = pytest.mark.django_db


def test_relay_resends_a_pending_event_once_per_backoff_step(district, task_a, settings):
    # given an event whose handling has not finished (its message was lost)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    m.EventDispatch.objects.update(done_at=timezone.now())  # the fixture's own events: handled
    task_start(task=task_a, actor=district.school_a_user)
    dispatch = m.EventDispatch.objects.get(event__type="task.started", event__task=task_a)
    grace = settings.EVENT_RELAY_GRACE
    assert dispatch.next_send_at == dispatch.created_at + grace

    # when the relay runs before the grace period is over, it leaves it alone
    assert events_relay(now=dispatch.created_at + grace / 2) == 0

    # then after the grace it is sent again, once
    t1 = dispatch.created_at + grace
    assert events_relay(now=t1) == 1
    assert events_relay(now=t1 + grace) == 0  # backed off: 2 x grace after the re-send
    assert events_relay(now=t1 + 2 * grace) == 1
    dispatch.refresh_from_db()
    assert dispatch.sends == 3
    assert dispatch.next_send_at == t1 + 2 * grace + 4 * grace


def test_relay_ignores_handled_events(district, task_a, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    task_start(task=task_a, actor=district.school_a_user)
    m.EventDispatch.objects.update(done_at=timezone.now())
    assert events_relay(now=timezone.now() + timedelta(days=1)) == 0
