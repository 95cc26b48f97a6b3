"""A school's register: risk points validated as the contract says, the year they belong to, the review
loop with its events, read-only once submitted, and its counts aggregated in the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integrity_support import NOW, PROCESS_MAP
from tracker import models as m
from tracker.errors import InvalidTransition, ProcessMapRequired, RegisterEmpty, RegisterLocked, ValidationFailed
from tracker.integrity.register_services import (
    register_approve,
    register_return,
    register_submit,
    risk_create,
    risk_delete,
    risk_update,
)
from tracker.integrity.rules import process_map_complete
from tracker.integrity.selectors import register_summaries

pytestmark = pytest.mark.django_db


def add_risk(integrity, *, item=None, now=NOW, **fields):
    values = {
        "post": "leader",
        "description": "招生录取中优亲厚友",
        "level": "high",
        "measures": ["集体决策"],
        "process_map": PROCESS_MAP,
    }
    values.update(fields)
    return risk_create(
        actor=integrity.d.school_a_user, school=integrity.d.school_a, item=item or integrity.m1, now=now, **values
    )


# --- a high risk needs a process map ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "process_map",
    [
        [],
        [{"step": "审批", "role": "校长", "control": True}],
        [{"step": "申请", "role": "教师", "control": False}, {"step": "审批", "role": "校长", "control": False}],
    ],
    ids=["no map", "one step", "no control step"],
)
def test_a_high_risk_point_without_a_complete_process_map_is_refused(integrity, process_map):
    with pytest.raises(ProcessMapRequired) as refused:
        add_risk(integrity, process_map=process_map)
    assert refused.value.code == "process_map_required"
    assert refused.value.http_status == 400
    assert not m.RiskPoint.objects.exists()


def test_two_steps_with_one_control_make_a_complete_map_and_low_risks_need_none(integrity):
    two = [{"step": "申请", "role": "教师", "control": False}, {"step": "审批", "role": "校长", "control": True}]
    assert process_map_complete(two)
    add_risk(integrity, process_map=two)
    add_risk(integrity, level="low", process_map=[])
    add_risk(integrity, level="medium", process_map=[])
    assert m.RiskPoint.objects.count() == 3


def test_a_risk_point_needs_a_measure_and_an_applicable_item(integrity):
    with pytest.raises(ValidationFailed) as no_measure:
        add_risk(integrity, measures=["  "])
    assert no_measure.value.extra["field"] == "measures"
    with pytest.raises(ValidationFailed) as foreign_item:
        add_risk(integrity, item=integrity.other_item)
    assert foreign_item.value.extra["field"] == "item"
    # The school's own item and its bureau's items are all applicable.
    add_risk(integrity, item=integrity.own_a)
    add_risk(integrity, item=integrity.n1)


def test_lowering_a_risk_to_high_without_a_map_is_refused_on_update(integrity):
    risk = add_risk(integrity, level="low", process_map=[])
    with pytest.raises(ProcessMapRequired):
        risk_update(actor=integrity.d.school_a_user, risk=risk, changes={"level": "high"}, now=NOW)
    risk.refresh_from_db()
    assert risk.level == "low"
    risk_update(
        actor=integrity.d.school_a_user, risk=risk, changes={"level": "high", "process_map": PROCESS_MAP}, now=NOW
    )
    risk.refresh_from_db()
    assert (risk.level, len(risk.process_map)) == ("high", 3)


# --- the year a risk point belongs to ---------------------------------------------------------------------
def test_a_risk_point_belongs_to_the_register_of_its_local_year(integrity):
    # 23:30 on 31 December in Shanghai is 15:30 UTC; 00:30 on 1 January is 16:30 UTC the day before.
    late = add_risk(integrity, now=datetime(2025, 12, 31, 15, 30, tzinfo=UTC))
    early = add_risk(integrity, now=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    assert (late.register.year, early.register.year) == (2025, 2026)
    summaries = register_summaries(school_ids=[integrity.d.school_a.pk], year=2025)
    assert summaries[integrity.d.school_a.pk]["risk_points"] == 1


# --- the review loop ------------------------------------------------------------------------------------
def test_submit_refuses_an_empty_register(integrity):
    with pytest.raises(RegisterEmpty) as refused:
        register_submit(actor=integrity.d.school_a_user, school=integrity.d.school_a, year=2026, now=NOW)
    assert (refused.value.code, refused.value.http_status) == ("register_empty", 409)
    assert not m.Register.objects.filter(status="submitted").exists()


def test_the_review_loop_with_its_events_and_a_register_read_only_once_submitted(integrity):
    d = integrity.d
    risk = add_risk(integrity)
    register = register_submit(actor=d.school_a_user, school=d.school_a, year=2026, now=NOW)
    assert register.status == "submitted"

    # Read-only while submitted: create, update and delete are refused with 409.
    with pytest.raises(RegisterLocked):
        add_risk(integrity)
    with pytest.raises(RegisterLocked):
        risk_update(actor=d.school_a_user, risk=risk, changes={"description": "x"}, now=NOW)
    with pytest.raises(RegisterLocked):
        risk_delete(actor=d.school_a_user, risk=risk, now=NOW)
    with pytest.raises(InvalidTransition) as twice:
        register_submit(actor=d.school_a_user, school=d.school_a, year=2026, now=NOW)
    assert twice.value.extra["allowed"] == []  # approve and return are the supervisors': not told to a school

    with pytest.raises(ValidationFailed):
        register_return(actor=d.supervisor, school=d.school_a, year=2026, reason=" ", now=NOW)
    register = register_return(actor=d.supervisor, school=d.school_a, year=2026, reason="补充流程图", now=NOW)
    assert (register.status, register.return_reason) == ("returned", "补充流程图")
    # Returned: editable again, then submitted and approved.
    risk_update(actor=d.school_a_user, risk=risk, changes={"description": "改"}, now=NOW)
    register_submit(actor=d.school_a_user, school=d.school_a, year=2026, now=NOW)
    register = register_approve(actor=d.supervisor, school=d.school_a, year=2026, now=NOW)
    assert (register.status, register.reviewed_by) == ("approved", d.supervisor)
    with pytest.raises(InvalidTransition):
        register_return(actor=d.supervisor, school=d.school_a, year=2026, reason="again", now=NOW)
    with pytest.raises(RegisterLocked):
        add_risk(integrity)

    events = list(m.Event.objects.filter(school=d.school_a, subject_type__in=["riskpoint", "register"]).order_by("id"))
    assert [e.type for e in events] == [
        "risk.created",
        "register.submitted",
        "register.returned",
        "risk.updated",
        "register.submitted",
        "register.approved",
    ]
    assert events[2].data["reason"] == "补充流程图"


def test_approving_a_draft_is_an_invalid_transition(integrity):
    add_risk(integrity)
    with pytest.raises(InvalidTransition) as refused:
        register_approve(actor=integrity.d.supervisor, school=integrity.d.school_a, year=2026, now=NOW)
    assert refused.value.extra == {"status": "draft", "allowed": []}  # only its school may submit it
    with pytest.raises(InvalidTransition) as by_nobody:
        register_approve(actor=None, school=integrity.d.school_a, year=2026, now=NOW)
    assert by_nobody.value.extra == {"status": "draft", "allowed": ["submit"]}  # the system: the whole table


def test_deleting_a_risk_point_records_what_it_was(integrity):
    risk = add_risk(integrity, level="medium", process_map=[])
    risk_delete(actor=integrity.d.school_a_user, risk=risk, now=NOW)
    assert not m.RiskPoint.objects.exists()
    event = m.Event.objects.get(type="risk.deleted")
    assert event.data["level"] == "medium" and event.school_id == integrity.d.school_a.pk


# --- counts ---------------------------------------------------------------------------------------------
def test_the_register_counts_by_level_post_item_and_process_map(integrity):
    add_risk(integrity, item=integrity.m1, post="leader")
    add_risk(integrity, item=integrity.m1, post="middle_manager", level="medium", process_map=PROCESS_MAP)
    add_risk(integrity, item=integrity.m2, post="class_teacher", level="low", process_map=[])
    add_risk(integrity, item=integrity.own_a, post="subject_teacher", level="high")
    summary = register_summaries(school_ids=[integrity.d.school_a.pk, integrity.d.school_b.pk], year=2026)

    a = summary[integrity.d.school_a.pk]
    assert a["items"] == 3 and a["risk_points"] == 4
    assert a["by_level"] == {"low": 1, "medium": 1, "high": 2}
    assert a["high_with_process_map"] == 2
    assert a["posts"] == {"leader": 1, "middle_manager": 1, "class_teacher": 1, "subject_teacher": 1, "other": 0}
    b = summary[integrity.d.school_b.pk]
    assert (b["status"], b["risk_points"], b["by_level"]["high"]) == ("draft", 0, 0)
