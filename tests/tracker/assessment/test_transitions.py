"""The task workflow (CONTRACT section 2): every action x every status, in the services and over HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from tests.factories import EvidenceFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.transitions import TRANSITIONS, allowed_actions
from tracker.errors import EvidenceRequired, InvalidTransition

pytestmark = pytest.mark.django_db

S = m.TaskStatus
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
NEW_DUE = datetime(2026, 7, 15, 16, 0, tzinfo=UTC)

# The contract's table, written out independently of tracker/transitions.py so the table is checked too.
CONTRACT_TABLE: dict[str, tuple[set[str], str | None]] = {
    "start": ({S.NOT_STARTED, S.RETURNED}, S.IN_PROGRESS),
    "progress": ({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}, S.IN_PROGRESS),
    "submit": ({S.NOT_STARTED, S.IN_PROGRESS, S.RETURNED}, S.SUBMITTED),
    "approve": ({S.SUBMITTED}, S.APPROVED),
    "return": ({S.SUBMITTED}, S.RETURNED),
    "extend": ({S.NOT_STARTED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED}, None),
}
EVENT_TYPES = {
    "start": "task.started",
    "progress": "task.progressed",
    "submit": "task.submitted",
    "approve": "task.approved",
    "return": "task.returned",
    "extend": "task.extended",
}
API_BODIES: dict[str, dict[str, Any]] = {
    "start": {},
    "progress": {"progress": 40, "note": "half way"},
    "submit": {},
    "approve": {"deductions": ["D1"], "comment": "fine"},
    "return": {"reason": "the minutes are missing", "rework_due_at": "2026-07-10T16:00:00Z"},
    "extend": {"due_at": "2026-07-15T16:00:00Z", "reason": "flooded school"},
}
PAIRS = [(action, status) for action in TRANSITIONS for status in S.values]
ALLOWED = [(a, st) for a, st in PAIRS if st in TRANSITIONS[a].sources]
REFUSED = [(a, st) for a, st in PAIRS if st not in TRANSITIONS[a].sources]


def reach(task: m.Task, status: str, district) -> m.Task:
    """Walk a task along the real workflow to `status` (with the one evidence file it needs)."""
    EvidenceFactory(task=task)
    school, supervisor = district.school_a_user, district.supervisor
    at = NOW - timedelta(days=3)
    if status == S.IN_PROGRESS:
        task_services.task_start(task=task, actor=school, now=at)
    elif status in (S.SUBMITTED, S.RETURNED, S.APPROVED):
        task_services.task_submit(task=task, actor=school, now=at)
        if status == S.RETURNED:
            task_services.task_return(task=task, actor=supervisor, reason="redo", now=at)
        elif status == S.APPROVED:
            task_services.task_approve(task=task, actor=supervisor, deductions=[], now=at)
    task.refresh_from_db()
    assert task.status == status
    return task


def call(action: str, task: m.Task, district) -> m.Task:
    school, supervisor = district.school_a_user, district.supervisor
    if action == "start":
        return task_services.task_start(task=task, actor=school, now=NOW)
    if action == "progress":
        return task_services.task_progress(task=task, actor=school, progress=40, note="half way", now=NOW)
    if action == "submit":
        return task_services.task_submit(task=task, actor=school, now=NOW)
    if action == "approve":
        return task_services.task_approve(task=task, actor=supervisor, deductions=["D1"], now=NOW)
    if action == "return":
        return task_services.task_return(task=task, actor=supervisor, reason="redo", now=NOW)
    if action == "extend":
        return task_services.task_extend(task=task, actor=supervisor, due_at=NEW_DUE, reason="flood", now=NOW)
    raise AssertionError(action)


def test_transitions_table_is_the_contracts_table():
    assert {a: (set(t.sources), t.target) for a, t in TRANSITIONS.items()} == CONTRACT_TABLE
    assert {a: t.role for a, t in TRANSITIONS.items()} == {
        "start": m.Role.SCHOOL,
        "progress": m.Role.SCHOOL,
        "submit": m.Role.SCHOOL,
        "approve": m.Role.SUPERVISOR,
        "return": m.Role.SUPERVISOR,
        "extend": m.Role.SUPERVISOR,
    }


@pytest.mark.parametrize("status", S.values)
def test_allowed_actions_lists_exactly_the_table_entries_for_a_status(status):
    assert allowed_actions(status) == [a for a in CONTRACT_TABLE if status in CONTRACT_TABLE[a][0]]


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_allowed_transition_succeeds_with_its_target_status_and_records_an_event(action, status, district, task_a):
    # given
    task = reach(task_a, status, district)
    events_before = m.Event.objects.filter(task=task).count()
    # when
    result = call(action, task, district)
    # then
    expected = TRANSITIONS[action].target or status
    task.refresh_from_db()
    assert result.status == task.status == expected
    event = m.Event.objects.filter(task=task).order_by("-id").first()
    assert m.Event.objects.filter(task=task).count() == events_before + 1
    assert event.type == EVENT_TYPES[action]
    assert event.occurred_at == NOW
    assert event.school_id == district.school_a.pk
    assert event.cycle_id == district.cycle.pk


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_transition_raises_invalid_transition_and_changes_nothing(action, status, district, task_a):
    # given
    task = reach(task_a, status, district)
    events_before = m.Event.objects.count()
    snapshot = m.Task.objects.filter(pk=task.pk).values().get()
    # when
    with pytest.raises(InvalidTransition) as caught:
        call(action, task, district)
    # then
    assert caught.value.code == "invalid_transition"
    # `allowed`: what the caller (holding the action's role only) may do now
    roles = {TRANSITIONS[action].role}
    assert caught.value.extra == {"status": status, "allowed": allowed_actions(status, roles=roles)}
    assert m.Task.objects.filter(pk=task.pk).values().get() == snapshot
    assert m.Event.objects.count() == events_before


def _api_user(action: str, district):
    return district.school_a_user if TRANSITIONS[action].role == m.Role.SCHOOL else district.supervisor


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_allowed_transition_over_http_returns_the_task_in_its_new_status(action, status, district, task_a, client_for):
    task = reach(task_a, status, district)
    response = client_for(_api_user(action, district)).post(
        f"/api/v1/tasks/{task.pk}/{action}/", API_BODIES[action], format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == task.pk
    assert body["status"] == (TRANSITIONS[action].target or status)
    assert m.Event.objects.filter(task=task, type=EVENT_TYPES[action]).exists()
    if action == "approve":
        assert body["score"] == "8.00"  # max 10 - D1 (2), submitted on time
    if action == "extend":
        assert body["due_at"].startswith("2026-07-16T00:00:00")  # 16:00Z in Asia/Shanghai


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_transition_over_http_is_409_with_status_and_allowed_actions(
    action, status, district, task_a, client_for
):
    task = reach(task_a, status, district)
    response = client_for(_api_user(action, district)).post(
        f"/api/v1/tasks/{task.pk}/{action}/", API_BODIES[action], format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"code", "detail", "status", "allowed"}
    assert body["code"] == "invalid_transition"
    assert body["status"] == status
    assert body["allowed"] == allowed_actions(status, roles={TRANSITIONS[action].role})
    assert isinstance(body["detail"], str) and body["detail"]
    task.refresh_from_db()
    assert task.status == status


# --- submit and evidence ------------------------------------------------------------------------
def test_submit_with_fewer_files_than_min_evidence_is_refused_with_evidence_required(district, task_a):
    # given a criterion needing two files and a task with one
    m.Criterion.objects.filter(pk=district.criterion.pk).update(min_evidence=2)
    EvidenceFactory(task=task_a)
    # when / then
    with pytest.raises(EvidenceRequired) as caught:
        task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)
    assert caught.value.extra == {"required": 2, "have": 1}
    task_a.refresh_from_db()
    assert task_a.status == S.NOT_STARTED
    assert task_a.submitted_at is None


def test_submit_over_http_without_evidence_is_409_evidence_required(district, task_a, client_for):
    response = client_for(district.school_a_user).post(f"/api/v1/tasks/{task_a.pk}/submit/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "evidence_required"
    assert body["required"] == 1 and body["have"] == 0
    assert "detail" in body
    task_a.refresh_from_db()
    assert task_a.status == S.NOT_STARTED


def test_submit_with_exactly_min_evidence_succeeds_and_records_the_due_at_in_force(district, task_a):
    m.Criterion.objects.filter(pk=district.criterion.pk).update(min_evidence=2)
    EvidenceFactory.create_batch(2, task=task_a)
    task = task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)
    assert task.status == S.SUBMITTED
    assert task.submitted_at == NOW
    assert task.submitted_due_at == task.due_at


def test_submit_of_a_criterion_needing_no_evidence_succeeds_without_files(district, task_a):
    m.Criterion.objects.filter(pk=district.criterion.pk).update(min_evidence=0)
    task = task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)
    assert task.status == S.SUBMITTED


def test_evidence_of_another_task_does_not_count_towards_submit(district, task_a, task_b):
    EvidenceFactory(task=task_b)
    with pytest.raises(EvidenceRequired):
        task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)


# --- what transitions do besides the status ----------------------------------------------------
def test_progress_records_progress_and_note_and_leaves_note_alone_when_omitted(district, task_a):
    task_services.task_progress(task=task_a, actor=district.school_a_user, progress=30, note="begun", now=NOW)
    task = task_services.task_progress(task=task_a, actor=district.school_a_user, progress=60, now=NOW)
    assert (task.progress, task.note, task.status) == (60, "begun", S.IN_PROGRESS)


def test_return_with_rework_deadline_gives_the_task_its_own_due(district, task_a):
    task = reach(task_a, S.SUBMITTED, district)
    rework = datetime(2026, 7, 10, 16, 0, tzinfo=UTC)
    task = task_services.task_return(
        task=task, actor=district.supervisor, reason="missing minutes", rework_due_at=rework, now=NOW
    )
    assert (task.status, task.due_at, task.has_own_due) == (S.RETURNED, rework, True)
    assert task.return_reason == "missing minutes"
    assert task.reviewed_by == district.supervisor


def test_return_without_rework_deadline_keeps_the_criterions_due(district, task_a):
    task = reach(task_a, S.SUBMITTED, district)
    task = task_services.task_return(task=task, actor=district.supervisor, reason="redo", now=NOW)
    assert (task.due_at, task.has_own_due) == (district.criterion.due_at, False)


def test_returned_task_can_be_resubmitted(district, task_a):
    task = reach(task_a, S.RETURNED, district)
    task = task_services.task_submit(task=task, actor=district.school_a_user, now=NOW)
    assert task.status == S.SUBMITTED
    assert task.submitted_at == NOW


def test_extend_keeps_the_status_and_sets_an_own_due(district, task_a):
    task = reach(task_a, S.IN_PROGRESS, district)
    task = task_services.task_extend(task=task, actor=district.supervisor, due_at=NEW_DUE, reason="flood", now=NOW)
    assert (task.status, task.due_at, task.has_own_due) == (S.IN_PROGRESS, NEW_DUE, True)
    event = m.Event.objects.filter(task=task, type="task.extended").get()
    assert event.data["reason"] == "flood"


# --- the order in which a request is judged: 404 -> 403 -> 400 -> 409 ---------------------------
BAD_BODY = {"unknown_field": 1, "progress": 500, "deductions": "not-a-list", "due_at": "never"}


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_request_is_judged_out_of_scope_then_role_then_body_then_state(action, district, task_a, client_for):
    # given a task in a status from which `action` is refused
    refused_status = next(st for st in S.values if st not in TRANSITIONS[action].sources)
    task = reach(task_a, refused_status, district)
    url = f"/api/v1/tasks/{task.pk}/{action}/"
    is_school_action = TRANSITIONS[action].role == m.Role.SCHOOL
    outsider = district.school_b_user if is_school_action else district.other_supervisor
    wrong_role = district.supervisor if is_school_action else district.school_a_user
    right_role = _api_user(action, district)
    # then: out of scope wins over everything
    assert client_for(outsider).post(url, BAD_BODY, format="json").status_code == 404
    # then: in scope with the wrong role is 403 even with a bad body and a wrong state
    assert client_for(wrong_role).post(url, BAD_BODY, format="json").status_code == 403
    assert client_for(district.inspector).post(url, BAD_BODY, format="json").status_code == 403
    # then: the right role with a bad body is 400 even in a wrong state
    response = client_for(right_role).post(url, BAD_BODY, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    # then: a good body in the wrong state is 409
    response = client_for(right_role).post(url, API_BODIES[action], format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_approve_with_an_unknown_deduction_code_is_400_before_the_state_is_judged(district, task_a, client_for):
    response = client_for(district.supervisor).post(
        f"/api/v1/tasks/{task_a.pk}/approve/", {"deductions": ["NOPE"]}, format="json"
    )
    assert response.status_code == 400
    assert "deductions" in response.json()["errors"]


def test_inspector_may_read_a_task_but_not_act_on_it(district, task_a, client_for):
    client = client_for(district.inspector)
    assert client.get(f"/api/v1/tasks/{task_a.pk}/").status_code == 200
    for action in TRANSITIONS:
        assert client.post(f"/api/v1/tasks/{task_a.pk}/{action}/", API_BODIES[action], format="json").status_code == 403


def test_superuser_may_perform_every_role_of_the_workflow(district, task_a, client_for, superuser):
    EvidenceFactory(task=task_a)
    client = client_for(superuser)
    for action in ("start", "submit", "approve"):
        response = client.post(f"/api/v1/tasks/{task_a.pk}/{action}/", API_BODIES[action], format="json")
        assert response.status_code == 200, response.json()
    task_a.refresh_from_db()
    assert task_a.status == S.APPROVED


# --- concurrency: the row lock lets exactly one reviewer win ----------------------------------
@pytest.mark.django_db(transaction=True)
def test_concurrent_approve_and_return_of_one_task_let_exactly_one_win(district, task_a):
    task = reach(task_a, S.SUBMITTED, district)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def review(action: str) -> None:
        try:
            barrier.wait()
            call(action, task, district)
            outcomes.append(action)
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=review, args=(a,)) for a in ("approve", "return")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("refused") == 1
    task.refresh_from_db()
    winner = next(o for o in outcomes if o != "refused")
    assert task.status == TRANSITIONS[winner].target
    assert m.Event.objects.filter(task=task, type__in=["task.approved", "task.returned"]).count() == 1


@pytest.mark.parametrize("status", [S.NOT_STARTED, S.IN_PROGRESS, S.SUBMITTED, S.RETURNED, S.APPROVED])
def test_a_refusal_lists_only_the_actions_the_caller_may_take(status, district, task_a, client_for, superuser):
    """A school is not told of the supervisors' actions (approve, return, extend), nor a supervisor of the
    school's; a superuser, who holds every role, hears of all."""
    task = reach(task_a, status, district)
    callers = [
        (district.school_a_user, {m.Role.SCHOOL}),
        (district.supervisor, {m.Role.SUPERVISOR}),
        (superuser, set(m.Role.values)),
    ]
    refused_somewhere = False
    for user, roles in callers:
        refused = [a for a, t in TRANSITIONS.items() if t.role in roles and status not in t.sources]
        if not refused:
            continue
        response = client_for(user).post(
            f"/api/v1/tasks/{task.pk}/{refused[0]}/", API_BODIES[refused[0]], format="json"
        )
        assert response.status_code == 409, (user, refused[0], response.content)
        refused_somewhere = True
        assert response.json()["allowed"] == [a for a in allowed_actions(status) if TRANSITIONS[a].role in roles]
    assert refused_somewhere
    if status == S.SUBMITTED:  # the first user's example: a school that submits twice
        response = client_for(district.school_a_user).post(f"/api/v1/tasks/{task.pk}/submit/", {}, format="json")
        assert response.json()["allowed"] == []
