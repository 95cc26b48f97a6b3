"""Faults of the workers themselves (docs/reliability.md, items 1, 2, 3 and 6): a pool process
SIGKILLed mid-task, the whole worker `kill -9`ed, a task outliving the broker's visibility timeout,
and a SIGTERM during a task. Real Redis, real `celery -A config worker` processes (prefork pool, as in
production), the pytest-django PostgreSQL database.

"Mid-task" is made deterministic with a lock: the test holds the school's cycle row FOR UPDATE from a
connection of its own, so the worker's event handler is stopped inside its transaction (judging the
school's flag) exactly as it would be behind a long sweep, for as long as the test wants.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from django.utils import timezone

from tests.factories import school_a_behind, school_a_just_late
from tracker import models as m
from tracker.monitoring.sweep import sweep_run
from tracker.notify.services import webhook_create

from .fault_support import (
    HANDLE,
    VISIBILITY_TIMEOUT,
    HoldingReceiver,
    alive,
    assert_handled_once,
    mid_task,
    quiesce,
    submit_then_lock,
    until,
    wait_done,
    waiting_on,
)

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DELIVER = "tracker.deliver_webhook"


def test_a_pool_process_killed_mid_task_runs_it_again_and_the_effect_happens_once(broker_view, district, spawn):
    # given school A behind (an open flag), and the school submits
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)

    # when a worker with one pool process takes the event and that process is SIGKILLed mid-task
    worker = spawn.worker()
    [child] = worker.children()
    mid_task()
    [task_id] = worker.task_ids(HANDLE)
    os.kill(child, signal.SIGKILL)

    # then the worker replaces the process, the message comes back (acks_late, reject_on_worker_lost)
    # and the task runs again
    until(lambda: worker.task_ids(HANDLE) == [task_id, task_id], timeout=30, what="the message to be redelivered")
    assert "WorkerLostError" in worker.text()
    until(lambda: len(worker.children()) == 1 and child not in worker.children(), timeout=30, what="a new pool process")
    # (the killed process's database session still waits for our lock; the second run must wait for it
    # to give up its transaction, not take the event for handled)
    until(
        lambda: waiting_on("tracker_eventdispatch") == 1 or worker.results(HANDLE),
        timeout=30,
        what="the second run to start",
    )
    lock.release()

    # and the effect happens exactly once
    wait_done(event)
    assert_handled_once(event, flag)
    until(lambda: worker.results(HANDLE), timeout=10, what="the second run to finish")
    assert worker.results(HANDLE) == ["True"]
    assert broker_view.unacked() == {} and broker_view.queued() == 0


def test_a_worker_killed_whole_is_redelivered_after_the_visibility_timeout_and_the_effect_happens_once(
    broker_view, district, spawn
):
    # given the school's submission being handled by a worker, mid-task
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)
    first = spawn.worker("first")
    children = first.children()
    mid_task()
    [task_id] = first.task_ids(HANDLE)
    [delivered_at] = broker_view.unacked().values()

    # when the whole worker is killed (kill -9 of its main process) and another one is started
    first.kill(signal.SIGKILL)
    first.wait_exit(timeout=10)
    until(lambda: not any(alive(pid) for pid in children), timeout=10, what="the pool process to die with it")
    # the message is neither lost nor back in the queue yet: Redis still holds it as delivered
    assert broker_view.unacked_tasks() == [task_id] and broker_view.queued() == 0
    second = spawn.worker("second")

    # then Redis hands the message to the new worker once the visibility timeout has passed
    until(lambda: second.task_ids(HANDLE) == [task_id], timeout=VISIBILITY_TIMEOUT + 30, what="the redelivery")
    redelivered_after = time.time() - delivered_at
    assert redelivered_after >= VISIBILITY_TIMEOUT
    until(
        lambda: waiting_on("tracker_eventdispatch") == 1 or second.results(HANDLE),
        timeout=30,
        what="the second run to start",
    )
    lock.release()

    # and the effect happens exactly once
    wait_done(event)
    assert_handled_once(event, flag)
    until(lambda: second.results(HANDLE), timeout=10, what="the second run to finish")
    assert second.results(HANDLE) == ["True"]
    assert broker_view.unacked() == {} and broker_view.queued() == 0
    print(f"[faults] item 2: redelivered {redelivered_after:.1f} s after delivery (visibility {VISIBILITY_TIMEOUT} s)")


def test_a_webhook_delivery_outliving_the_visibility_timeout_is_posted_once(broker_view, district, spawn, settings):
    # given one reminder with a webhook to a receiver that holds its answer, and two workers
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    now = timezone.now()
    school_a_just_late(district, now=now)
    quiesce(broker_view)
    workers = [spawn.worker("a"), spawn.worker("b")]

    with HoldingReceiver(hold=True) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        assert sweep_run(now=now).webhooks == 1
        delivery = hook.deliveries.get()
        until(lambda: len(receiver.requests) == 1, timeout=30, what="the first attempt to reach the receiver")
        [first] = [w for w in workers if w.task_ids(DELIVER)]
        [second] = [w for w in workers if w is not first]
        [task_id] = first.task_ids(DELIVER)

        # when the attempt outlives the visibility timeout, so Redis hands the message to the other worker
        until(
            lambda: second.task_ids(DELIVER) == [task_id],
            timeout=VISIBILITY_TIMEOUT + 30,
            what="Redis to hand the message to the second worker",
        )
        until(lambda: second.results(DELIVER), timeout=30, what="the second worker's run")
        receiver.release()
        until(
            lambda: m.WebhookDelivery.objects.filter(pk=delivery.pk, status="delivered").exists(),
            timeout=30,
            what="the delivery to succeed",
        )

    # then the second run found the delivery claimed and posted nothing: one POST, one attempt
    assert second.results(DELIVER) == ["None"]
    until(lambda: first.results(DELIVER), timeout=10, what="the first run to finish")
    assert first.results(DELIVER) == ["'delivered'"]
    assert receiver.ids() == [delivery.message_id]
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)


def test_an_event_handled_past_the_visibility_timeout_takes_effect_once(broker_view, district, spawn):
    # given the school's submission being handled by one of two workers, mid-task
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)
    workers = [spawn.worker("a"), spawn.worker("b")]
    mid_task()
    [first] = [w for w in workers if w.task_ids(HANDLE)]
    [second] = [w for w in workers if w is not first]
    [task_id] = first.task_ids(HANDLE)

    # when the run outlives the visibility timeout and Redis hands the message to the other worker
    until(
        lambda: second.task_ids(HANDLE) == [task_id],
        timeout=VISIBILITY_TIMEOUT + 30,
        what="Redis to hand the message to the second worker",
    )
    until(lambda: waiting_on("tracker_eventdispatch") == 1, timeout=30, what="the second run to wait for the first")
    lock.release()

    # then the first run does the work and every other run finds it done
    wait_done(event)
    assert_handled_once(event, flag)
    until(lambda: first.results(HANDLE) and second.results(HANDLE), timeout=30, what="both runs to finish")
    runs = first.results(HANDLE) + second.results(HANDLE)
    assert first.results(HANDLE)[0] == "True"
    assert runs.count("True") == 1 and set(runs) == {"True", "False"}


def test_a_sigterm_during_a_task_lets_it_finish_and_nothing_is_redelivered(broker_view, district, spawn):
    # given the school's submission being handled, mid-task
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)
    worker = spawn.worker()
    mid_task()

    # when the worker gets a SIGTERM (a deploy stops it)
    worker.kill(signal.SIGTERM)
    until(lambda: "Warm shutdown" in worker.text(), timeout=10, what="a warm shutdown")
    # it waits for the task, it does not drop it: no exit within a second (a dropping worker exits at once)
    with pytest.raises(subprocess.TimeoutExpired):
        worker.wait_exit(timeout=1)
    assert waiting_on("tracker_cycle") == 1
    lock.release()

    # then the task finishes, the worker exits cleanly, and the message is acknowledged
    assert worker.wait_exit(timeout=30) == 0
    assert_handled_once(event, flag)
    assert worker.results(HANDLE) == ["True"]
    assert broker_view.unacked() == {} and broker_view.queued() == 0


def test_a_sigterm_then_sigkill_when_the_deploy_stops_waiting_redelivers_the_task_once(broker_view, district, spawn):
    # given the school's submission being handled, mid-task
    task, flag = school_a_behind(district, now=timezone.now())
    quiesce(broker_view)
    lock, event = submit_then_lock(district, task)
    worker = spawn.worker()
    mid_task()
    [task_id] = worker.task_ids(HANDLE)

    # when the deploy sends SIGTERM, waits, then kills everything (docker stop: SIGKILL after the grace)
    worker.kill(signal.SIGTERM)
    until(lambda: "Warm shutdown" in worker.text(), timeout=10, what="a warm shutdown")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait_exit(timeout=10)
    assert broker_view.unacked_tasks() == [task_id]
    replacement = spawn.worker("replacement")

    # then the new worker gets the message after the visibility timeout, and the effect happens once
    until(lambda: replacement.task_ids(HANDLE) == [task_id], timeout=VISIBILITY_TIMEOUT + 30, what="the redelivery")
    until(
        lambda: waiting_on("tracker_eventdispatch") == 1 or replacement.results(HANDLE),
        timeout=30,
        what="the second run to start",
    )
    lock.release()
    wait_done(event)
    assert_handled_once(event, flag)
    until(lambda: replacement.results(HANDLE), timeout=10, what="the second run to finish")
    assert replacement.results(HANDLE) == ["True"]
    assert broker_view.unacked() == {} and broker_view.queued() == 0
