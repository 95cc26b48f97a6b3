"""The school's evidence byte quota holds under concurrent uploads (issue 13, item 8), on PostgreSQL.

Two uploads to two tasks of one school, each of which fits alone but not both. The race is made certain,
not hoped for: the test holds a table lock on the evidence table that lets every read through but stops
every INSERT. Without a lock on the school, both uploads count the school's bytes (nothing stored yet),
pass, and then wait at their INSERT; once released, both are stored. With the lock, the second upload
waits for the first's transaction before it counts, then sees its bytes and is refused.
"""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.db import connection, transaction

from tests.samples import pdf_bytes
from tracker import models as m
from tracker.assessment.evidence_services import evidence_add
from tracker.errors import SchoolStorageFull

pytestmark = pytest.mark.django_db(transaction=True)


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction the statistics views are a snapshot taken once: read them afresh.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_two_concurrent_uploads_cannot_both_pass_the_school_quota(district, task_a, settings):
    # given: two tasks of school A; room for one file, not two
    body = pdf_bytes("x" * 1000)
    settings.EVIDENCE_MAX_BYTES_PER_SCHOOL = len(body) + len(body) // 2
    criterion = m.Criterion.objects.create(
        cycle=district.cycle, code="Q2", title="t", category="c", due_at=district.criterion.due_at, max_score=5
    )
    other_task = m.Task.objects.create(
        cycle=district.cycle,
        criterion=criterion,
        school=district.school_a,
        due_at=criterion.due_at,
        original_due_at=criterion.due_at,
        due_set_at=district.cycle.activated_at,
    )
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def upload(task: m.Task) -> None:
        try:
            barrier.wait(timeout=10)
            evidence = evidence_add(
                task=task.pk, actor=district.school_a_user, file=io.BytesIO(body), filename="a.pdf", size=len(body)
            )
            outcomes.append(evidence)
        except SchoolStorageFull as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(task,)) for task in (task_a, other_task)]

    # when: both uploads run while every INSERT into the evidence table waits
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {m.Evidence._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while _waiting_on_locks() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = _waiting_on_locks()
    for thread in threads:
        thread.join(timeout=30)

    # then: both got as far as a lock; one file stored, the other refused by the quota
    assert waiting == 2
    assert not any(thread.is_alive() for thread in threads)
    stored = [o for o in outcomes if isinstance(o, m.Evidence)]
    refused = [o for o in outcomes if isinstance(o, SchoolStorageFull)]
    assert (len(stored), len(refused)) == (1, 1), outcomes
    assert m.Evidence.objects.filter(task__school=district.school_a).count() == 1
    assert m.Event.objects.filter(type="evidence.uploaded").count() == 1
