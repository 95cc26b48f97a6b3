"""Task.last_activity_at: every task and evidence service stamps it with its `now`; activation does not.

The dashboards' last activity per school is the latest of these stamps (tests/tracker/reporting/test_dashboards.py).
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import CriterionFactory, EvidenceFactory, SchoolFactory
from tests.samples import pdf_bytes
from tracker import models as m
from tracker.assessment import appeal_services, evidence_services, extension_services, task_services
from tracker.assessment.cycle_services import criterion_create, cycle_activate
from tracker.errors import EvidenceRequired, InvalidTransition

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
EARLIER = NOW - timedelta(days=4)


@dataclass(frozen=True)
class Case:
    """Bring the task to where the service applies (stamped at EARLIER, if at all), then call it at `now`."""

    service: str
    event: str
    prepare: Callable[[m.Task, object], None]
    act: Callable[[m.Task, object, datetime], None]


def _upload(task: m.Task, district, now: datetime) -> m.Evidence:
    data = pdf_bytes()
    return evidence_services.evidence_add(
        task=task, actor=district.school_a_user, file=io.BytesIO(data), filename="minutes.pdf", size=len(data), now=now
    )


def _nothing(task: m.Task, district) -> None:
    pass


def _started(task: m.Task, district) -> None:
    task_services.task_start(task=task, actor=district.school_a_user, now=EARLIER)


def _with_evidence(task: m.Task, district) -> None:
    _upload(task, district, EARLIER)


def _submitted(task: m.Task, district) -> None:
    _upload(task, district, EARLIER - timedelta(days=1))
    task_services.task_submit(task=task, actor=district.school_a_user, now=EARLIER)


def _delete_one(task: m.Task, district, now: datetime) -> None:
    evidence_services.evidence_delete(evidence=task.evidence.get(), actor=district.school_a_user, now=now)


def _asked(task: m.Task, district) -> None:
    extension_services.extension_request_create(
        task=task,
        actor=district.school_a_user,
        requested_due_at=task.due_at + timedelta(days=9),
        reason="r",
        now=EARLIER,
    )


def _approved(task: m.Task, district) -> None:
    _submitted(task, district)
    task_services.task_approve(task=task, actor=district.supervisor, deductions=["D1"], now=EARLIER)


def _appealed(task: m.Task, district) -> None:
    _approved(task, district)
    appeal_services.appeal_create(task=task, actor=district.school_a_user, reason="r", contested=["D1"], now=EARLIER)


def _decide_request(decision: str):
    def act(task: m.Task, district, now: datetime) -> None:
        request = task.extension_requests.get()
        extension_services.extension_request_decide(
            request=request, actor=district.supervisor, decision=decision, comment="c", now=now
        )

    return act


def _decide_appeal(decision: str):
    def act(task: m.Task, district, now: datetime) -> None:
        appeal_services.appeal_decide(
            appeal=task.appeals.get(), actor=district.supervisor, decision=decision, comment="c", now=now
        )

    return act


CASES = [
    Case(
        "task_start",
        "task.started",
        _nothing,
        lambda t, d, now: task_services.task_start(task=t, actor=d.school_a_user, now=now),
    ),
    Case(
        "task_progress",
        "task.progressed",
        _started,
        lambda t, d, now: task_services.task_progress(task=t, actor=d.school_a_user, progress=60, now=now),
    ),
    Case(
        "task_submit",
        "task.submitted",
        _with_evidence,
        lambda t, d, now: task_services.task_submit(task=t, actor=d.school_a_user, now=now),
    ),
    Case(
        "task_approve",
        "task.approved",
        _submitted,
        lambda t, d, now: task_services.task_approve(task=t, actor=d.supervisor, deductions=["D1"], now=now),
    ),
    Case(
        "task_return",
        "task.returned",
        _submitted,
        lambda t, d, now: task_services.task_return(task=t, actor=d.supervisor, reason="minutes missing", now=now),
    ),
    Case(
        "task_extend",
        "task.extended",
        _started,
        lambda t, d, now: task_services.task_extend(
            task=t, actor=d.supervisor, due_at=NOW + timedelta(days=30), reason="flooded", now=now
        ),
    ),
    Case("evidence_add", "evidence.uploaded", _started, lambda t, d, now: _upload(t, d, now)),
    Case("evidence_delete", "evidence.deleted", _with_evidence, _delete_one),
    Case(
        "extension_request_create",
        "extension.requested",
        _nothing,
        lambda t, d, now: extension_services.extension_request_create(
            task=t, actor=d.school_a_user, requested_due_at=t.due_at + timedelta(days=9), reason="flood", now=now
        ),
    ),
    Case("extension_request_decide", "extension.decided", _asked, _decide_request("approve")),
    Case("extension_request_decide (reject)", "extension.decided", _asked, _decide_request("reject")),
    Case(
        "appeal_create",
        "appeal.filed",
        _approved,
        lambda t, d, now: appeal_services.appeal_create(
            task=t, actor=d.school_a_user, reason="unfair", contested=["D1"], now=now
        ),
    ),
    Case("appeal_decide", "appeal.decided", _appealed, _decide_appeal("amend")),
    Case("appeal_decide (uphold)", "appeal.decided", _appealed, _decide_appeal("uphold")),
]


def test_the_table_covers_every_task_and_evidence_service():
    def writes(module, prefix: str) -> set[str]:
        """The module's services: `<noun>_<verb>(*, ..., actor, now)` (evidence_path is a plain helper)."""
        return {
            name
            for name, fn in inspect.getmembers(module, inspect.isfunction)
            if name.startswith(prefix)
            and fn.__module__ == module.__name__
            and {"actor", "now"} <= set(inspect.signature(fn).parameters)
        }

    assert {case.service.split(" ")[0] for case in CASES} == (
        writes(task_services, "task_")
        | writes(evidence_services, "evidence_")
        | writes(extension_services, "extension_")
        | writes(appeal_services, "appeal_")
    )


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.service)
def test_each_service_stamps_last_activity_with_its_now(case: Case, district, task_a, task_b):
    case.prepare(task_a, district)
    task_a.refresh_from_db()
    before = task_a.last_activity_at
    assert before in (None, EARLIER)

    case.act(task_a, district, NOW)

    task_a.refresh_from_db()
    assert task_a.last_activity_at == NOW
    # The same moment as the event the service recorded; another task of the district is untouched.
    latest = m.Event.objects.filter(task=task_a).latest("id")
    assert (latest.type, latest.occurred_at) == (case.event, NOW)
    task_b.refresh_from_db()
    assert task_b.last_activity_at is None


def test_a_refused_action_stamps_nothing(district, task_a):
    _started(task_a, district)

    with pytest.raises(EvidenceRequired):
        task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)
    with pytest.raises(InvalidTransition):
        task_services.task_approve(task=task_a, actor=district.supervisor, deductions=[], now=NOW)

    task_a.refresh_from_db()
    assert task_a.last_activity_at == EARLIER


def test_evidence_written_outside_the_services_is_not_activity(district, task_a):
    # Only what the services do counts: a row created behind their back leaves the stamp alone.
    EvidenceFactory(task=task_a, uploaded_at=NOW)

    task_a.refresh_from_db()
    assert task_a.last_activity_at is None


def test_activation_leaves_last_activity_null(district):
    # The fixture activated the cycle: a task exists for every school, none with activity.
    tasks = m.Task.objects.filter(cycle=district.cycle)
    assert tasks.count() == 2
    assert not tasks.filter(last_activity_at__isnull=False).exists()

    # A school and a criterion added later: the second activation and the criterion's tasks too.
    SchoolFactory(parent=district.bureau)
    assert cycle_activate(actor=district.supervisor, cycle=district.cycle, now=NOW) == 1
    criterion_create(
        actor=district.supervisor,
        cycle=district.cycle,
        code="K9",
        title="Added later",
        category="organisational leadership",
        requirement="Do it.",
        due_at=NOW + timedelta(days=10),
        max_score=5,
    )
    assert tasks.count() == 6
    assert not tasks.filter(last_activity_at__isnull=False).exists()


def test_activation_keeps_the_activity_of_existing_tasks(district, task_a):
    _started(task_a, district)
    CriterionFactory(cycle=district.cycle)

    cycle_activate(actor=district.supervisor, cycle=district.cycle, now=NOW)

    task_a.refresh_from_db()
    assert task_a.last_activity_at == EARLIER
