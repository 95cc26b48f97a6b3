"""The event log: hash-chained, append-only, verified by `manage.py verify_events`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from tests.concurrency import at_once
from tests.factories import EvidenceFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.audit.events import GENESIS_HASH, canonical, event_record, events_verify

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _history(district, task: m.Task) -> None:
    """A little life for a task: start, progress, evidence, submit, return, extend."""
    EvidenceFactory(task=task)
    task_services.task_start(task=task, actor=district.school_a_user, now=NOW)
    task_services.task_progress(task=task, actor=district.school_a_user, progress=50, note="半", now=NOW)
    task_services.task_submit(task=task, actor=district.school_a_user, now=NOW + timedelta(hours=1))
    task_services.task_return(
        task=task, actor=district.supervisor, reason="缺少会议记录", rework_due_at=NOW + timedelta(days=5), now=NOW
    )
    task_services.task_extend(
        task=task, actor=district.supervisor, due_at=NOW + timedelta(days=9), reason="flood", now=NOW
    )


def _tamper(sql: str, params: list) -> None:
    """Write past the append-only trigger, as an attacker with database access could."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def _verify_output() -> str:
    out = StringIO()
    call_command("verify_events", stdout=out)
    return out.getvalue().strip()


# --- the chain ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_every_event_links_to_the_previous_ones_hash(district, task_a):
    _history(district, task_a)
    events = list(m.Event.objects.order_by("id"))
    assert len(events) > 6
    prev = GENESIS_HASH
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == hashlib.sha256((prev + canonical(event)).encode()).hexdigest()
        prev = event.hash
    head = m.EventChainHead.objects.get(pk=1)
    assert (head.last_hash, head.count) == (prev, len(events))


@pytest.mark.django_db
def test_canonical_event_holds_type_time_actor_subject_and_data(district, task_a):
    _history(district, task_a)
    event = m.Event.objects.filter(type="task.returned").get()
    body = json.loads(canonical(event))
    assert body["type"] == "task.returned"
    assert body["actor"] == district.supervisor.pk
    assert body["task"] == task_a.pk
    assert body["subject"] == ["task", str(task_a.pk)]
    assert body["data"]["reason"] == "缺少会议记录"
    assert datetime.fromisoformat(body["occurred_at"]) == NOW


@pytest.mark.django_db
def test_verify_events_prints_ok_and_the_count(district, task_a):
    _history(district, task_a)
    assert _verify_output() == f"ok {m.Event.objects.count()} events"
    report = events_verify(batch_size=2)  # the batches join up
    assert (report.ok, report.count) == (True, m.Event.objects.count())


@pytest.mark.django_db
def test_verify_events_on_an_empty_log_is_ok_zero():
    assert m.Event.objects.count() == 0
    assert _verify_output() == "ok 0 events"


@pytest.mark.django_db
def test_tampered_data_is_found_and_the_event_named(district, task_a):
    # given
    _history(district, task_a)
    victim = m.Event.objects.get(type="task.returned")
    # when someone rewrites the reason behind the trigger's back
    _tamper("UPDATE tracker_event SET data = %s WHERE id = %s", [json.dumps({"reason": "ok"}), victim.pk])
    # then
    report = events_verify()
    assert not report.ok
    assert report.broken_event_id == victim.pk
    assert "content" in report.reason
    with pytest.raises(CommandError, match=rf"event {victim.pk}\b"):
        call_command("verify_events", stdout=StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["occurred_at", "actor_id", "task_id", "subject_id", "type"])
def test_tampering_with_any_hashed_column_breaks_the_chain_there(district, task_a, column):
    _history(district, task_a)
    victim = m.Event.objects.get(type="task.submitted")
    value = {
        "occurred_at": NOW - timedelta(days=30),
        "actor_id": district.supervisor.pk,
        "task_id": m.Task.objects.get(school=district.school_b).pk,
        "subject_id": "999",
        "type": "task.approved",
    }[column]
    _tamper(f"UPDATE tracker_event SET {column} = %s WHERE id = %s", [value, victim.pk])
    assert events_verify().broken_event_id == victim.pk


@pytest.mark.django_db
def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_link_of_the_next_event(district, task_a):
    # given an attacker who also recomputes the tampered row's hash
    _history(district, task_a)
    victim = m.Event.objects.get(type="task.submitted")
    victim.data = {**victim.data, "on_time": True, "forged": True}
    forged_hash = hashlib.sha256((victim.prev_hash + canonical(victim)).encode()).hexdigest()
    _tamper(
        "UPDATE tracker_event SET data = %s, hash = %s WHERE id = %s", [json.dumps(victim.data), forged_hash, victim.pk]
    )
    # then the next event no longer links to it
    following = m.Event.objects.filter(pk__gt=victim.pk).order_by("pk").first()
    report = events_verify()
    assert (report.ok, report.broken_event_id) == (False, following.pk)
    assert "prev_hash" in report.reason


@pytest.mark.django_db
def test_a_deleted_event_in_the_middle_is_found(district, task_a):
    _history(district, task_a)
    victim = m.Event.objects.get(type="task.submitted")
    following = m.Event.objects.filter(pk__gt=victim.pk).order_by("pk").first()
    m.EventDispatch.objects.filter(event=victim).delete()
    _tamper("DELETE FROM tracker_event WHERE id = %s", [victim.pk])
    assert events_verify().broken_event_id == following.pk


@pytest.mark.django_db
def test_deleting_the_last_events_is_found_against_the_chain_head(district, task_a):
    _history(district, task_a)
    last = m.Event.objects.order_by("-pk").first()
    m.EventDispatch.objects.filter(event=last).delete()
    _tamper("DELETE FROM tracker_event WHERE id = %s", [last.pk])
    report = events_verify()
    assert not report.ok
    assert "head" in report.reason
    with pytest.raises(CommandError, match="chain head"):
        call_command("verify_events", stdout=StringIO())


# --- append-only in the database ---------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tracker_event SET data = '{}' WHERE id = %s",
        "UPDATE tracker_event SET hash = 'x' WHERE id = %s",
        "DELETE FROM tracker_event WHERE id = %s",
    ],
)
def test_update_and_delete_on_events_are_refused_by_the_database(district, task_a, sql):
    _history(district, task_a)
    event = m.Event.objects.order_by("id").first()
    m.EventDispatch.objects.filter(event=event).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [event.pk])
    assert m.Event.objects.filter(pk=event.pk, hash=event.hash).exists()


@pytest.mark.django_db
def test_saving_or_deleting_an_event_through_the_orm_is_refused(district, task_a):
    _history(district, task_a)
    event = m.Event.objects.order_by("id").first()
    event.data = {"changed": True}
    with pytest.raises(DatabaseError), transaction.atomic():
        event.save()
    assert events_verify().ok


# --- every change records an event ---------------------------------------------------------------
@pytest.mark.django_db
def test_every_change_of_a_tasks_life_is_in_its_history_oldest_first(district, task_a, client_for):
    _history(district, task_a)
    response = client_for(district.school_a_user).get(f"/api/v1/tasks/{task_a.pk}/history/")
    assert response.status_code == 200
    types = [e["type"] for e in response.json()]
    assert types == ["task.started", "task.progressed", "task.submitted", "task.returned", "task.extended"]
    first = response.json()[0]
    assert set(first) >= {"id", "type", "occurred_at", "actor", "data", "hash", "prev_hash"}
    assert first["actor"] == district.school_a_user.username


@pytest.mark.django_db
def test_a_failed_transition_leaves_no_event_and_no_gap_in_the_chain(district, task_a):
    from tracker.errors import InvalidTransition

    before = m.Event.objects.count()
    with pytest.raises(InvalidTransition):
        task_services.task_approve(task=task_a, actor=district.supervisor, deductions=[], now=NOW)
    assert m.Event.objects.count() == before
    assert events_verify().ok


# --- the command as a user runs it, and the chain under concurrent writers ----------------------
def _manage(*args: str) -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.django_db(transaction=True)
def test_verify_events_command_exits_zero_when_intact_and_nonzero_naming_the_tampered_event(district, task_a):
    # given a committed history
    _history(district, task_a)
    count = m.Event.objects.count()
    # then
    ok = _manage("verify_events")
    assert (ok.returncode, ok.stdout.strip()) == (0, f"ok {count} events"), ok.stderr
    # when a row is rewritten behind the trigger's back
    victim = m.Event.objects.get(type="task.progressed")
    with transaction.atomic():
        _tamper("UPDATE tracker_event SET data = %s WHERE id = %s", [json.dumps({"progress": 100}), victim.pk])
    # then
    broken = _manage("verify_events")
    assert broken.returncode != 0
    assert f"event {victim.pk}" in broken.stderr
    assert "ok" not in broken.stdout


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(district):
    # given eight threads, each on its own connection, appending at the same moment
    writers, per_writer = 8, 10
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []
    school = district.school_a

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    event_record(
                        type="test.concurrent",
                        subject=school,
                        school=school,
                        data={"writer": n, "i": i},
                        dispatch=False,
                    )
        except BaseException as exc:  # noqa: BLE001 - surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    before = m.Event.objects.count()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every append landed, each prev_hash is used once, and the whole chain verifies
    assert errors == []
    assert m.Event.objects.count() == before + writers * per_writer
    prevs = list(m.Event.objects.values_list("prev_hash", flat=True))
    assert len(prevs) == len(set(prevs))
    report = events_verify()
    assert (report.ok, report.count) == (True, before + writers * per_writer)


@pytest.mark.django_db(transaction=True)
def test_concurrent_task_transitions_on_different_schools_keep_one_chain(district):
    # given both schools' tasks with evidence
    tasks = list(m.Task.objects.filter(cycle=district.cycle))
    users = {district.school_a.pk: district.school_a_user, district.school_b.pk: district.school_b_user}
    for task in tasks:
        EvidenceFactory(task=task)

    def work(task: m.Task) -> None:
        actor = users[task.school_id]
        for progress in range(0, 100, 10):
            task_services.task_progress(task=task.pk, actor=actor, progress=progress)
        task_services.task_submit(task=task.pk, actor=actor)

    _, errors = at_once(*(lambda task=task: work(task) for task in tasks))
    assert errors == []
    assert events_verify().ok
    assert m.Event.objects.filter(type="task.submitted").count() == len(tasks)
