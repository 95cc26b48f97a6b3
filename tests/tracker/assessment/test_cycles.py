"""Cycles and criteria: activation materialises tasks once; criterion edits move the tasks that follow them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from tests.factories import CriterionFactory, CycleFactory, SchoolFactory, UnitFactory
from tracker import models as m
from tracker.assessment import task_services
from tracker.assessment.cycle_services import criterion_create, criterion_update, cycle_activate, cycle_close
from tracker.errors import InvalidState

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def city(district):
    """A city authority with a district under it, a sub-district under that, and schools at each level."""
    city = UnitFactory(name="City")
    mid = UnitFactory(name="District", parent=city)
    sub = UnitFactory(name="Sub-district", parent=mid)
    schools = [
        SchoolFactory(parent=city),
        SchoolFactory(parent=mid),
        SchoolFactory(parent=mid),
        SchoolFactory(parent=sub),
    ]
    outside = SchoolFactory(parent=UnitFactory(name="Elsewhere"))
    cycle = CycleFactory(authority=city)
    criteria = CriterionFactory.create_batch(3, cycle=cycle)
    return {
        "city": city,
        "mid": mid,
        "sub": sub,
        "schools": schools,
        "outside": outside,
        "cycle": cycle,
        "criteria": criteria,
    }


def test_activate_creates_one_task_per_school_and_criterion_including_nested_authorities(city, district):
    # when
    created = cycle_activate(actor=district.supervisor, cycle=city["cycle"], now=NOW)
    # then
    assert created == 4 * 3
    pairs = set(m.Task.objects.filter(cycle=city["cycle"]).values_list("school_id", "criterion_id"))
    assert pairs == {(s.pk, c.pk) for s in city["schools"] for c in city["criteria"]}
    assert not m.Task.objects.filter(cycle=city["cycle"], school=city["outside"]).exists()
    assert not m.Task.objects.filter(cycle=city["cycle"], school__kind=m.UnitKind.AUTHORITY).exists()


def test_activated_tasks_start_not_started_with_the_criterions_due(city, district):
    cycle_activate(actor=district.supervisor, cycle=city["cycle"], now=NOW)
    tasks = list(m.Task.objects.filter(cycle=city["cycle"]).select_related("criterion"))
    assert len(tasks) == 4 * 3
    for task in tasks:
        assert task.status == m.TaskStatus.NOT_STARTED
        assert task.due_at == task.criterion.due_at
        assert task.has_own_due is False
        assert task.progress == 0


def test_activate_sets_the_cycle_active_and_records_an_event(city, district):
    cycle_activate(actor=district.supervisor, cycle=city["cycle"], now=NOW)
    cycle = m.Cycle.objects.get(pk=city["cycle"].pk)
    assert (cycle.status, cycle.activated_at) == (m.CycleStatus.ACTIVE, NOW)
    event = m.Event.objects.get(type="cycle.activated", cycle=cycle)
    assert event.data == {"tasks_created": 12}
    assert event.actor == district.supervisor


def test_activate_twice_creates_nothing_the_second_time(city, district):
    cycle_activate(actor=district.supervisor, cycle=city["cycle"], now=NOW)
    first_ids = set(m.Task.objects.filter(cycle=city["cycle"]).values_list("id", flat=True))
    assert cycle_activate(actor=district.supervisor, cycle=city["cycle"], now=NOW + timedelta(days=1)) == 0
    assert set(m.Task.objects.filter(cycle=city["cycle"]).values_list("id", flat=True)) == first_ids
    cycle = m.Cycle.objects.get(pk=city["cycle"].pk)
    assert cycle.activated_at == NOW  # the first activation time stays


def test_reactivation_keeps_the_work_done_on_existing_tasks(district, task_a):
    task_services.task_progress(task=task_a, actor=district.school_a_user, progress=70, now=NOW)
    assert cycle_activate(actor=district.supervisor, cycle=district.cycle, now=NOW) == 0
    task_a.refresh_from_db()
    assert (task_a.status, task_a.progress) == (m.TaskStatus.IN_PROGRESS, 70)


def test_reactivation_creates_tasks_for_a_school_added_since(district):
    new_school = SchoolFactory(parent=district.bureau)
    assert cycle_activate(actor=district.supervisor, cycle=district.cycle, now=NOW) == 1
    assert m.Task.objects.filter(cycle=district.cycle, school=new_school, criterion=district.criterion).exists()


def test_the_database_refuses_a_second_task_for_a_school_and_criterion(task_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Task.objects.create(
            cycle=task_a.cycle,
            criterion=task_a.criterion,
            school=task_a.school,
            due_at=task_a.due_at,
            original_due_at=task_a.due_at,
            due_set_at=NOW,
        )


def test_a_closed_cycle_cannot_be_activated(district):
    cycle_close(actor=district.supervisor, cycle=district.cycle, now=NOW)
    with pytest.raises(InvalidState) as caught:
        cycle_activate(actor=district.supervisor, cycle=district.cycle, now=NOW)
    assert caught.value.extra == {"status": "closed"}


def test_only_an_active_cycle_can_be_closed(district):
    draft = CycleFactory(authority=district.bureau)
    with pytest.raises(InvalidState):
        cycle_close(actor=district.supervisor, cycle=draft, now=NOW)
    cycle = cycle_close(actor=district.supervisor, cycle=district.cycle, now=NOW)
    assert (cycle.status, cycle.closed_at) == (m.CycleStatus.CLOSED, NOW)
    with pytest.raises(InvalidState):
        cycle_close(actor=district.supervisor, cycle=district.cycle, now=NOW)


def test_activate_and_close_over_http(district, client_for):
    client = client_for(district.supervisor)
    draft = CycleFactory(authority=district.bureau)
    CriterionFactory.create_batch(2, cycle=draft)
    response = client.post(f"/api/v1/cycles/{draft.pk}/activate/")
    assert (response.status_code, response.json()) == (200, {"tasks_created": 4})
    assert client.post(f"/api/v1/cycles/{draft.pk}/activate/").json() == {"tasks_created": 0}
    response = client.post(f"/api/v1/cycles/{draft.pk}/close/")
    assert (response.status_code, response.json()["status"]) == (200, "closed")
    response = client.post(f"/api/v1/cycles/{draft.pk}/activate/")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"
    assert client.post(f"/api/v1/cycles/{draft.pk}/close/").status_code == 409


# --- criteria -----------------------------------------------------------------------------------
def test_criterion_due_edit_moves_only_tasks_without_their_own_due(district, task_a, task_b):
    # given school B's task has been extended
    extended = datetime(2026, 7, 20, 16, 0, tzinfo=UTC)
    task_services.task_extend(task=task_b, actor=district.supervisor, due_at=extended, reason="flood", now=NOW)
    new_due = datetime(2026, 8, 31, 16, 0, tzinfo=UTC)
    # when
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"due_at": new_due})
    # then
    task_a.refresh_from_db()
    task_b.refresh_from_db()
    assert task_a.due_at == new_due
    assert task_b.due_at == extended
    event = m.Event.objects.get(type="criterion.updated")
    assert event.data["tasks_moved"] == 1
    assert event.cycle_id == district.cycle.pk


def test_criterion_due_edit_records_a_due_moved_event_per_moved_task_caused_by_the_edit(district, task_a, task_b):
    # given school B's task has its own due time
    extended = datetime(2026, 7, 20, 16, 0, tzinfo=UTC)
    task_services.task_extend(task=task_b, actor=district.supervisor, due_at=extended, reason="flood", now=NOW)
    before = task_a.due_at
    new_due = datetime(2026, 8, 31, 16, 0, tzinfo=UTC)
    # when
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"due_at": new_due})
    # then school A's task history explains its new deadline; school B's did not move
    cause = m.Event.objects.get(type="criterion.updated")
    moved = m.Event.objects.get(type="task.due_moved")
    assert (moved.task_id, moved.school_id, moved.cycle_id) == (task_a.pk, district.school_a.pk, district.cycle.pk)
    assert moved.actor_id == district.supervisor.pk
    assert moved.pk > cause.pk
    assert before == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    assert moved.data == {"from_due_at": "2026-06-30T16:00:00Z", "due_at": "2026-08-31T16:00:00Z", "cause": cause.pk}
    assert list(m.Task.objects.get(pk=task_a.pk).events.values_list("type", flat=True)) == ["task.due_moved"]
    assert not m.Event.objects.filter(type="task.due_moved", task=task_b).exists()
    # recorded for the history, not dispatched: nothing waits on it
    assert not m.EventDispatch.objects.filter(event=moved).exists()


def test_criterion_edit_of_other_fields_records_no_due_moved_event(district, task_a):
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"title": "New title"})
    assert not m.Event.objects.filter(type="task.due_moved").exists()


def test_criterion_due_edit_leaves_a_returned_tasks_rework_deadline(district, task_a):
    from tests.factories import EvidenceFactory

    EvidenceFactory(task=task_a)
    task_services.task_submit(task=task_a, actor=district.school_a_user, now=NOW)
    rework = datetime(2026, 7, 1, tzinfo=UTC)
    task_services.task_return(task=task_a, actor=district.supervisor, reason="redo", rework_due_at=rework, now=NOW)
    criterion_update(
        actor=district.supervisor, criterion=district.criterion, changes={"due_at": datetime(2026, 9, 1, tzinfo=UTC)}
    )
    task_a.refresh_from_db()
    assert task_a.due_at == rework


def test_criterion_edit_of_other_fields_moves_no_task_and_records_the_change(district, task_a):
    before = task_a.due_at
    criterion_update(actor=district.supervisor, criterion=district.criterion, changes={"title": "New title"})
    task_a.refresh_from_db()
    assert task_a.due_at == before
    event = m.Event.objects.get(type="criterion.updated")
    assert event.data == {"changed": {"title": "New title"}, "tasks_moved": 0}


def test_criterion_edit_without_a_change_records_nothing(district):
    before = m.Event.objects.count()
    criterion_update(
        actor=district.supervisor, criterion=district.criterion, changes={"title": district.criterion.title}
    )
    assert m.Event.objects.count() == before


def test_criterion_added_to_an_active_cycle_gets_its_tasks(district):
    criterion = criterion_create(
        actor=district.supervisor,
        cycle=district.cycle,
        code="NEW1",
        title="Late addition",
        category="supervision",
        due_at=datetime(2026, 10, 1, tzinfo=UTC),
        max_score=5,
    )
    schools = set(m.Task.objects.filter(criterion=criterion).values_list("school_id", flat=True))
    assert schools == {district.school_a.pk, district.school_b.pk}
    assert m.Event.objects.get(type="criterion.created", subject_id=str(criterion.pk)).data["tasks_created"] == 2


def test_criterion_added_to_a_draft_cycle_gets_tasks_only_on_activation(district):
    draft = CycleFactory(authority=district.bureau)
    criterion = criterion_create(
        actor=district.supervisor,
        cycle=draft,
        code="D1",
        title="t",
        category="c",
        due_at=datetime(2026, 10, 1, tzinfo=UTC),
        max_score=5,
    )
    assert not m.Task.objects.filter(criterion=criterion).exists()
    assert cycle_activate(actor=district.supervisor, cycle=draft, now=NOW) == 2


def test_criterion_cannot_be_added_to_a_closed_cycle(district):
    cycle_close(actor=district.supervisor, cycle=district.cycle, now=NOW)
    with pytest.raises(InvalidState):
        criterion_create(
            actor=district.supervisor,
            cycle=district.cycle,
            code="LATE",
            title="t",
            category="c",
            due_at=datetime(2026, 10, 1, tzinfo=UTC),
            max_score=5,
        )


def test_cycle_dates_are_ordered_in_the_database(district):
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Cycle.objects.create(
            authority=district.bureau, name="backwards", starts_on=date(2026, 5, 1), ends_on=date(2026, 1, 1)
        )
