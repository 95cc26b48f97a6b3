"""Broker faults (docs/reliability.md, item 4): Redis is down when a change commits, and Redis is
restarted three times while a worker and beat run. Redis runs without persistence here (as the
throwaway broker of bin/test), so a restart also loses whatever was queued: only the database's
record of unfinished side effects (EventDispatch, WebhookDelivery) and the relay bring them back.

Every side effect is counted where it lands: the school's `returned` notifications and the POSTs a
loopback webhook receiver gets, by message id.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import school_a_behind
from tracker import models as m
from tracker.assessment.task_services import task_return, task_submit
from tracker.notify.services import webhook_create

from .conftest import RedisServer, broker_reconnect, free_port
from .fault_support import (
    HANDLE,
    HoldingReceiver,
    assert_handled_once,
    mid_task,
    quiesce,
    schedule_fast,
    submit_then_lock,
    until,
    wait_done,
)

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

D = timedelta(days=1)
RESTARTS = 3


@pytest.fixture(params=["without persistence", "appendonly"])
def redis_server(request, tmp_path) -> Iterator[RedisServer]:
    """conftest's Redis, twice: throwaway (a restart loses the queue) and as production runs it (compose:
    --appendonly yes, a restart keeps queued and delivered-but-unacknowledged messages)."""
    server = RedisServer(free_port(), tmp_path, appendonly=request.param == "appendonly")
    server.start()
    yield server
    server.stop()


def submit_and_return(district, task: m.Task, reason: str) -> list[m.Event]:
    """The school submits, the supervisor returns it: two events, the second one notifies and posts."""
    task_submit(task=task, actor=district.school_a_user)
    task_return(task=task, actor=district.supervisor, reason=reason)
    return list(m.Event.objects.filter(task=task, type__in=["task.submitted", "task.returned"]).order_by("-id")[:2])


def done(events: list[m.Event]) -> bool:
    return m.EventDispatch.objects.filter(event__in=events, done_at__isnull=False).count() == len(events)


def settled(broker_view) -> bool:
    return (
        broker_view.queued() == 0
        and not broker_view.unacked()
        and not m.EventDispatch.objects.filter(done_at__isnull=True).exists()
        and not m.WebhookDelivery.objects.filter(status=m.DeliveryStatus.PENDING).exists()
    )


def test_redis_down_at_commit_and_restarted_three_times_loses_nothing_and_repeats_nothing(
    broker_view, redis_server, district, spawn, settings
):
    # given a worker and beat running the relay every second, and a webhook on school A
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.EVENT_RELAY_GRACE = timedelta(seconds=1)  # as the worker's (conftest's celery_env)
    task = m.Task.objects.get(cycle=district.cycle, school=district.school_a)
    m.Task.objects.update(due_at=timezone.now() + 100 * D)  # nothing overdue: no flags, no reminders
    m.Criterion.objects.filter(pk=district.criterion.pk).update(min_evidence=0)
    schedule_fast({"tracker.relay_events": 1})
    quiesce(broker_view)
    returned: list[m.Event] = []
    timings = []

    with HoldingReceiver() as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        worker = spawn.worker()
        beat = spawn.beat()

        for restart in range(1, RESTARTS + 1):
            # when Redis is down while changes commit
            redis_server.stop()
            started = time.monotonic()
            events = submit_and_return(district, task, f"down {restart}")
            took = time.monotonic() - started
            # then they are accepted at once, their side effects pending
            assert took < 5
            assert m.EventDispatch.objects.filter(event__in=events, done_at__isnull=True).count() == 2

            # when Redis comes back (empty: it keeps nothing across a restart)
            redis_server.start()
            broker_reconnect()
            back = time.monotonic()
            # then the relay sends them again and the worker handles them
            until(lambda events=events: done(events), timeout=60, what=f"the relay after restart {restart}")
            relayed_in = time.monotonic() - back

            # and a change made now is handled too: the worker consumes again after the restart
            events_up = submit_and_return(district, task, f"up {restart}")
            until(lambda events=events_up: done(events), timeout=30, what=f"a new event after restart {restart}")
            returned += [e for e in events + events_up if e.type == "task.returned"]
            timings.append((round(took, 2), round(relayed_in, 1)))

        until(lambda: len(receiver.requests) >= len(returned), timeout=30, what="every webhook to reach the receiver")
        # Nothing left that could post again: no message queued or unacknowledged (a redelivery), no event
        # unhandled (a relay), no delivery pending (a retry).
        until(lambda: settled(broker_view), timeout=30, what="the broker, the relay and the deliveries to settle")
        beat_text = beat.text()

    # then every side effect happened exactly once: 0 lost, 0 duplicated
    expected_ids = {f"msg_e{event.pk}w{hook.pk}" for event in returned}
    posts = Counter(receiver.ids())
    assert set(posts) == expected_ids
    assert max(posts.values()) == 1
    assert len(returned) == 2 * RESTARTS
    notified = Counter(
        m.Notification.objects.filter(kind="returned").values_list("event_id", flat=True).order_by("event_id")
    )
    assert notified == {event.pk: 1 for event in returned}
    assert not m.EventDispatch.objects.filter(done_at__isnull=True).exists()
    assert set(m.EventDispatch.objects.filter(event__task=task).values_list("attempts", flat=True)) == {1}
    assert m.WebhookDelivery.objects.filter(status="delivered").count() == len(returned)
    assert "Sending due task" in beat_text and worker.alive() and beat.alive()
    print(f"[faults] item 4: (commit seconds while down, seconds from restart to relayed) {timings}")


def test_a_redis_restart_during_a_task_lets_it_finish_once_and_the_worker_consumes_again(
    broker_view, redis_server, district, spawn
):
    # given the school's submission being handled by a worker, mid-task
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)
    worker = spawn.worker()
    mid_task()
    [task_id] = worker.task_ids(HANDLE)

    # when Redis restarts under it
    redis_server.stop()
    redis_server.start()
    broker_reconnect()
    until(lambda: worker.count("Connected to redis") >= 2, timeout=30, what="the worker to reconnect")
    lock.release()

    # then the task finishes and its effect happens once (a copy Redis kept comes back and finds it done)
    wait_done(event)
    until(lambda: worker.results(HANDLE), timeout=30, what="the task to finish")
    assert worker.results(HANDLE)[0] == "True"
    assert_handled_once(event, flag)

    # and the worker takes new work: the supervisor returns the submission, the school hears of it
    task_return(task=task, actor=district.supervisor, reason="after the restart")
    returned = m.Event.objects.get(type="task.returned", task=task)
    wait_done(returned, timeout=30)
    assert m.Notification.objects.filter(event=returned, kind="returned").count() == 1
    # and nothing is left to run it again: the late acknowledgement reached the restarted Redis (with
    # appendonly, where the delivered message survived), or the restart dropped the message (without)
    until(lambda: not broker_view.unacked() and broker_view.queued() == 0, timeout=10, what="an empty broker")
    assert worker.results(HANDLE) == ["True", "True"]
    assert worker.task_ids(HANDLE).count(task_id) == 1
    # (the return made the task overdue again, so a new flag may open: count the first one's events)
    assert m.EventDispatch.objects.get(event=event).attempts == 1
    assert m.Event.objects.filter(type="flag.resolved", subject_id=str(flag.pk)).count() == 1
