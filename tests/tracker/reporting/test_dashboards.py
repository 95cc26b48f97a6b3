"""Dashboard selectors against a hand-computed province (province > cities > districts > schools).

The numbers in EXPECTED were worked out by hand from the task states set in build_province().
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CriterionFactory,
    CycleFactory,
    EvidenceFactory,
    MembershipFactory,
    SchoolFactory,
    UnitFactory,
)
from tests.samples import pdf_bytes
from tracker import models as m
from tracker import scope
from tracker.assessment.cycle_services import cycle_activate
from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.task_services import task_progress, task_submit
from tracker.audit.events import event_record
from tracker.reporting.after_response import after_response_queue, run_queued
from tracker.reporting.overview import overview_schools, overview_units
from tracker.reporting.school import criteria_overview, school_overview

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 1, 0, 0, tzinfo=UTC)
BEFORE_ANY_DEADLINE = datetime(2026, 2, 1, tzinfo=UTC)
K1_DUE = datetime(2026, 3, 1, tzinfo=UTC)
K2_DUE = datetime(2026, 3, 20, tzinfo=UTC)
K3_DUE = datetime(2026, 6, 30, tzinfo=UTC)
EXTENDED_DUE = datetime(2026, 5, 1, tzinfo=UTC)
EXTENDED_ON = datetime(2026, 2, 20, tzinfo=UTC)


@dataclass
class Province:
    province: m.Unit
    city1: m.Unit
    city2: m.Unit
    d11: m.Unit
    d12: m.Unit
    d21: m.Unit
    empty_district: m.Unit
    s1: m.Unit
    s2: m.Unit
    s3: m.Unit
    s4: m.Unit
    s5: m.Unit
    outside: m.Unit
    outside_school: m.Unit
    cycle: m.Cycle
    outside_cycle: m.Cycle
    k1: m.Criterion
    k2: m.Criterion
    k3: m.Criterion
    province_supervisor: object
    province_inspector: object
    city1_supervisor: object
    city2_supervisor: object
    d11_supervisor: object
    s1_user: object
    outside_supervisor: object

    def task(self, school: m.Unit, criterion: m.Criterion) -> m.Task:
        return m.Task.objects.get(school=school, criterion=criterion)


def set_task(task: m.Task, **fields) -> None:
    m.Task.objects.filter(pk=task.pk).update(**fields)


def approved(score: str, submitted_at: datetime, due: datetime) -> dict:
    return {
        "status": m.TaskStatus.APPROVED,
        "score": Decimal(score),
        "submitted_at": submitted_at,
        "submitted_due_at": due,
        "reviewed_at": submitted_at,
    }


def build_province() -> Province:
    """Zhejiang > {Zhoushan > {Putuo > S1, S2; Dinghai > S3; Empty}, Ningbo > {Haishu > S4; S5}}."""
    province = UnitFactory(name="Zhejiang Province")
    city1 = UnitFactory(name="Zhoushan City", parent=province)
    city2 = UnitFactory(name="Ningbo City", parent=province)
    d11 = UnitFactory(name="Putuo District", parent=city1)
    d12 = UnitFactory(name="Dinghai District", parent=city1)
    empty_district = UnitFactory(name="Xinqu District", parent=city1)
    d21 = UnitFactory(name="Haishu District", parent=city2)
    s1 = SchoolFactory(name="S1 沈家门小学", parent=d11)
    s2 = SchoolFactory(name="S2 东港中学", parent=d11)
    s3 = SchoolFactory(name="S3 定海二中", parent=d12)
    s4 = SchoolFactory(name="S4 海曙实验学校", parent=d21)
    s5 = SchoolFactory(name="S5 宁波直属学校", parent=city2)
    outside = UnitFactory(name="Jiangsu Province")
    outside_school = SchoolFactory(name="Outside School", parent=outside)

    def member(unit, role=m.Role.SUPERVISOR):
        return MembershipFactory(unit=unit, role=role).user

    province_supervisor = member(province)
    cycle = CycleFactory(authority=province, name="2026 clean-school assessment")
    k1 = CriterionFactory(cycle=cycle, code="K1", title="Organisation", due_at=K1_DUE, max_score=Decimal("10"))
    k2 = CriterionFactory(cycle=cycle, code="K2", title="Duties", due_at=K2_DUE, max_score=Decimal("20"))
    k3 = CriterionFactory(cycle=cycle, code="K3", title="Work style", due_at=K3_DUE, max_score=Decimal("10"))
    cycle_activate(actor=province_supervisor, cycle=cycle, now=datetime(2026, 1, 5, tzinfo=UTC))
    outside_supervisor = member(outside)
    outside_cycle = CycleFactory(authority=outside)
    CriterionFactory(cycle=outside_cycle, due_at=K1_DUE)
    cycle_activate(actor=outside_supervisor, cycle=outside_cycle, now=datetime(2026, 1, 5, tzinfo=UTC))

    p = Province(
        province=province,
        city1=city1,
        city2=city2,
        d11=d11,
        d12=d12,
        d21=d21,
        empty_district=empty_district,
        s1=s1,
        s2=s2,
        s3=s3,
        s4=s4,
        s5=s5,
        outside=outside,
        outside_school=outside_school,
        cycle=cycle,
        outside_cycle=outside_cycle,
        k1=k1,
        k2=k2,
        k3=k3,
        province_supervisor=province_supervisor,
        province_inspector=member(province, m.Role.INSPECTOR),
        city1_supervisor=member(city1),
        city2_supervisor=member(city2),
        d11_supervisor=member(d11),
        s1_user=member(s1, m.Role.SCHOOL),
        outside_supervisor=outside_supervisor,
    )
    # S1: K1 approved 8 on time, K2 approved 15 late, K3 in progress (last activity 2026-03-25).
    set_task(p.task(s1, k1), **approved("8", datetime(2026, 2, 25, tzinfo=UTC), K1_DUE))
    set_task(p.task(s1, k2), **approved("15", datetime(2026, 3, 22, tzinfo=UTC), K2_DUE))
    task_progress(task=p.task(s1, k3), actor=p.s1_user, progress=40, now=datetime(2026, 3, 25, tzinfo=UTC))
    # S2: K1 submitted on time (through the service: last activity 2026-02-28), K2 and K3 not started.
    EvidenceFactory(task=p.task(s2, k1))
    task_submit(task=p.task(s2, k1), actor=p.s1_user, now=datetime(2026, 2, 28, tzinfo=UTC))
    # S3: K1 approved 10 and K2 approved 13, both on time; K3 submitted on time and returned.
    set_task(p.task(s3, k1), **approved("10", datetime(2026, 2, 20, tzinfo=UTC), K1_DUE))
    set_task(p.task(s3, k2), **approved("13", datetime(2026, 3, 10, tzinfo=UTC), K2_DUE))
    set_task(
        p.task(s3, k3),
        status=m.TaskStatus.RETURNED,
        submitted_at=datetime(2026, 3, 15, tzinfo=UTC),
        submitted_due_at=K3_DUE,
    )
    # S4: the same score and on-time rate as S3 (a tie for rank 1); K3 not started.
    set_task(p.task(s4, k1), **approved("10", datetime(2026, 2, 21, tzinfo=UTC), K1_DUE))
    set_task(p.task(s4, k2), **approved("13", datetime(2026, 3, 11, tzinfo=UTC), K2_DUE))
    # S5: nothing done, but K1 and K2 were extended: no deadline of S5's has passed, though both original
    # deadlines have.
    extended = {"due_at": EXTENDED_DUE, "has_own_due": True, "extensions": 1, "due_set_at": EXTENDED_ON}
    set_task(p.task(s5, k1), **extended)
    set_task(p.task(s5, k2), **extended)
    # Flags: S2 warning, S3 critical (open); S1 had one, resolved.
    m.Flag.objects.create(cycle=cycle, school=s2, severity="warning", overdue_count=1, opened_at=K2_DUE)
    m.Flag.objects.create(
        cycle=cycle, school=s3, severity="critical", overdue_count=3, opened_at=K2_DUE, escalated_at=K2_DUE
    )
    m.Flag.objects.create(
        cycle=cycle, school=s1, severity="warning", opened_at=K1_DUE, resolved_at=datetime(2026, 3, 2, tzinfo=UTC)
    )
    # An event about S2 that is not about a task (a flag): not school activity.
    flag = m.Flag.objects.get(school=s2, resolved_at__isnull=True)
    event_record(type="flag.opened", subject=flag, cycle=cycle, school=s2, now=datetime(2026, 3, 31, tzinfo=UTC))
    return p


@pytest.fixture
def province(db) -> Province:
    return build_province()


def school_row(
    name,
    *,
    tasks=3,
    approved=0,
    submitted=0,
    in_progress=0,
    not_started=0,
    returned=0,
    overdue=0,
    at_risk=0,
    completion_rate,
    on_time_rate,
    on_time_original_rate,
    extensions=0,
    score,
    max_score=40.0,
    rank,
    flag=None,
    last_activity_at=None,
):
    return {
        "tasks": tasks,
        "approved": approved,
        "submitted": submitted,
        "in_progress": in_progress,
        "not_started": not_started,
        "returned": returned,
        "overdue": overdue,
        "at_risk": at_risk,
        "completion_rate": completion_rate,
        "on_time_rate": on_time_rate,
        "on_time_original_rate": on_time_original_rate,
        "extensions": extensions,
        "score": score,
        "max_score": max_score,
        "rank": rank,
        "flag": flag,
        "last_activity_at": last_activity_at,
    }


# Worked out by hand at NOW = 2026-04-01: K1 and K2 are past due for S1-S4; S5's own due times are not, but
# its original ones (K1, K2) are. Nothing is due within the 14 days of early warning: none at risk.
EXPECTED = {
    "S3 定海二中": school_row(
        "S3",
        approved=2,
        returned=1,
        completion_rate=2 / 3,
        on_time_rate=1.0,
        on_time_original_rate=1.0,
        score=23.0,
        rank=1,
        flag="critical",
    ),
    "S4 海曙实验学校": school_row(
        "S4",
        approved=2,
        not_started=1,
        completion_rate=2 / 3,
        on_time_rate=1.0,
        on_time_original_rate=1.0,
        score=23.0,
        rank=1,
    ),
    "S1 沈家门小学": school_row(
        "S1",
        approved=2,
        in_progress=1,
        completion_rate=2 / 3,
        on_time_rate=0.5,
        on_time_original_rate=0.5,
        score=23.0,
        rank=3,
        last_activity_at="2026-03-25T08:00:00+08:00",
    ),
    "S2 东港中学": school_row(
        "S2",
        submitted=1,
        not_started=2,
        overdue=1,
        completion_rate=0.0,
        on_time_rate=0.5,
        on_time_original_rate=0.5,
        score=0.0,
        rank=4,
        flag="warning",
        last_activity_at="2026-02-28T08:00:00+08:00",
    ),
    # S5: no passed deadline of its own, but both passed original ones were missed, after 2 extensions.
    "S5 宁波直属学校": school_row(
        "S5",
        not_started=3,
        completion_rate=0.0,
        on_time_rate=None,
        on_time_original_rate=0.0,
        extensions=2,
        score=0.0,
        rank=5,
    ),
}


def without_school(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "school"}


def test_overview_rows_match_the_hand_computed_numbers(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    assert [row["school"]["name"] for row in overview.rows] == list(EXPECTED)
    for row in overview.rows:
        assert without_school(row) == EXPECTED[row["school"]["name"]], row["school"]["name"]


def test_overview_totals_are_over_all_the_schools(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    assert overview.totals == (
        {
            "schools": 5,
            "tasks": 15,
            "approved": 6,
            "submitted": 1,
            "in_progress": 1,
            "not_started": 6,
            "returned": 1,
            "overdue": 1,
            "at_risk": 0,
            "completion_rate": 6 / 15,
            "on_time_rate": 6 / 8,
            "on_time_original_rate": 6 / 10,
            "extensions": 2,
            "flagged_schools": 2,
        }
    )


def test_ties_in_score_and_on_time_rate_share_a_rank_and_are_listed_by_name(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    ranks = [(row["rank"], row["school"]["name"][:2]) for row in overview.rows]
    # S3 and S4: 23 points, all on time -> both 1st; S1: 23 points, half on time -> 3rd (not 2nd).
    assert ranks == [(1, "S3"), (1, "S4"), (3, "S1"), (4, "S2"), (5, "S5")]


def test_on_time_rate_ranks_a_school_with_no_passed_deadline_last_among_equal_scores(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)
    by_name = {row["school"]["name"][:2]: row for row in overview.rows}

    # S2 and S5 both score 0; S2 has an on-time rate (0.5), S5 none (null sorts last).
    assert by_name["S5"]["on_time_rate"] is None
    assert by_name["S2"]["rank"] < by_name["S5"]["rank"]


def test_before_any_deadline_on_time_rates_are_null_and_nothing_is_overdue(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=BEFORE_ANY_DEADLINE)

    assert {row["on_time_rate"] for row in overview.rows} == {None}
    assert {row["overdue"] for row in overview.rows} == {0}
    assert overview.totals["on_time_rate"] is None
    assert overview.totals["overdue"] == 0
    # Completion does not depend on deadlines.
    assert overview.totals["completion_rate"] == 6 / 15
    # Ties on score with no on-time rate: S1, S3, S4 share rank 1, then S2 and S5 share rank 4.
    assert [row["rank"] for row in overview.rows] == [1, 1, 1, 4, 4]


def test_a_district_root_sees_only_its_schools_and_totals(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.d11.pk,), now=NOW)

    assert [row["school"]["name"][:2] for row in overview.rows] == ["S1", "S2"]
    assert [row["rank"] for row in overview.rows] == [1, 2]
    assert overview.totals["schools"] == 2
    assert overview.totals["tasks"] == 6
    assert overview.totals["on_time_rate"] == 2 / 4


def test_rollup_of_the_province_per_city_over_two_levels(province):
    overview = overview_units(cycle=province.cycle, unit=province.province, now=NOW)

    rows = {row["unit"]["name"]: row for row in overview.rows}
    assert [row["unit"]["name"] for row in overview.rows] == ["Zhoushan City", "Ningbo City"]
    assert rows["Zhoushan City"] == (
        {
            "unit": {"id": province.city1.pk, "name": "Zhoushan City", "kind": "authority"},
            "schools": 3,
            "tasks": 9,
            "approved": 4,
            "submitted": 1,
            "in_progress": 1,
            "not_started": 2,
            "returned": 1,
            "overdue": 1,
            "at_risk": 0,
            "completion_rate": 4 / 9,
            "on_time_rate": 4 / 6,
            "on_time_original_rate": 4 / 6,
            "extensions": 0,
            "score": 15.33,  # (23 + 0 + 23) / 3
            "max_score": 40.0,
            "rank": 1,
            "flag": "critical",  # the worst open flag below it
            "flagged_schools": 2,
            "last_activity_at": "2026-03-25T08:00:00+08:00",
        }
    )
    assert rows["Ningbo City"] == (
        {
            "unit": {"id": province.city2.pk, "name": "Ningbo City", "kind": "authority"},
            "schools": 2,
            "tasks": 6,
            "approved": 2,
            "submitted": 0,
            "in_progress": 0,
            "not_started": 4,
            "returned": 0,
            "overdue": 0,
            "at_risk": 0,
            "completion_rate": 2 / 6,
            "on_time_rate": 1.0,  # S4's 2 of 2; S5 has no passed deadline
            "on_time_original_rate": 2 / 4,  # S4's 2 of 2; S5's 0 of its 2 original deadlines
            "extensions": 2,
            "score": 11.5,  # (23 + 0) / 2
            "max_score": 40.0,
            "rank": 2,
            "flag": None,
            "flagged_schools": 0,
            "last_activity_at": None,
        }
    )
    assert overview.totals["schools"] == 5
    assert overview.totals["on_time_rate"] == 6 / 8


def test_rollup_of_a_city_per_district_includes_an_empty_district(province):
    overview = overview_units(cycle=province.cycle, unit=province.city1, now=NOW)

    summary = [
        (row["unit"]["name"], row["schools"], row["tasks"], row["score"], row["on_time_rate"], row["rank"])
        for row in overview.rows
    ]
    assert summary == [
        ("Dinghai District", 1, 3, 23.0, 1.0, 1),
        ("Putuo District", 2, 6, 11.5, 0.5, 2),
        ("Xinqu District", 0, 0, None, None, 3),
    ]
    assert overview.totals["schools"] == 3


def test_rollup_mixes_child_authorities_and_schools_directly_under_the_unit(province):
    overview = overview_units(cycle=province.cycle, unit=province.city2, now=NOW)

    assert [(row["unit"]["name"], row["unit"]["kind"], row["schools"], row["score"]) for row in overview.rows] == [
        ("Haishu District", "authority", 1, 23.0),
        ("S5 宁波直属学校", "school", 1, 0.0),
    ]


def test_last_activity_counts_only_events_about_the_schools_tasks(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)
    by_name = {row["school"]["name"][:2]: row for row in overview.rows}

    # S2's latest event is the flag opening on 03-31; its latest work on a task is the 02-28 submission.
    assert by_name["S2"]["last_activity_at"] == "2026-02-28T08:00:00+08:00"
    assert by_name["S3"]["last_activity_at"] is None


def test_last_activity_follows_an_evidence_upload_into_the_school_row_and_every_rollup(province):
    # S3's returned K3 gets new evidence on 03-30: later than anything else in Zhoushan (S1, 03-25).
    data = pdf_bytes()
    evidence_add(
        task=province.task(province.s3, province.k3),
        actor=province.s1_user,
        file=io.BytesIO(data),
        filename="minutes.pdf",
        size=len(data),
        now=datetime(2026, 3, 30, 2, 0, tzinfo=UTC),
    )

    schools = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW).rows
    cities = overview_units(cycle=province.cycle, unit=province.province, now=NOW).rows
    districts = overview_units(cycle=province.cycle, unit=province.city1, now=NOW).rows

    def latest(rows: list[dict], key: str) -> dict:
        return {row[key]["name"].split()[0]: row["last_activity_at"] for row in rows}

    assert latest(schools, "school") == {
        "S3": "2026-03-30T10:00:00+08:00",
        "S4": None,
        "S1": "2026-03-25T08:00:00+08:00",
        "S2": "2026-02-28T08:00:00+08:00",
        "S5": None,
    }
    assert latest(cities, "unit") == {"Zhoushan": "2026-03-30T10:00:00+08:00", "Ningbo": None}
    assert latest(districts, "unit") == {
        "Dinghai": "2026-03-30T10:00:00+08:00",
        "Putuo": "2026-03-25T08:00:00+08:00",
        "Xinqu": None,
    }


def test_last_activity_is_read_from_the_tasks_not_from_the_event_log(province):
    with CaptureQueriesContext(connection) as queries:
        overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)
        overview_units(cycle=province.cycle, unit=province.province, now=NOW)

    statements = " ".join(query["sql"] for query in queries)
    assert "tracker_task" in statements
    assert "tracker_event" not in statements


def test_other_cycles_do_not_leak_into_the_overview(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    assert province.outside_school.pk not in {row["school"]["id"] for row in overview.rows}
    assert overview.totals["tasks"] == 15


# --- Access: who sees which schools ----------------------------------------------------------------------
def roots_of(user, cycle) -> tuple[int, ...]:
    return scope.dashboard_access(user=user, cycle_id=cycle.pk).roots


def test_roots_of_a_caller_at_or_above_the_cycle_authority_are_the_authority(province):
    assert roots_of(province.province_supervisor, province.cycle) == (province.province.pk,)
    assert roots_of(province.province_inspector, province.cycle) == (province.province.pk,)


def test_roots_of_a_caller_below_the_cycle_authority_are_their_own_units(province):
    assert roots_of(province.d11_supervisor, province.cycle) == (province.d11.pk,)
    # A nested membership adds nothing.
    MembershipFactory(user=province.city1_supervisor, unit=province.d11, role=m.Role.INSPECTOR)
    assert roots_of(province.city1_supervisor, province.cycle) == (province.city1.pk,)
    # Two sibling memberships: both.
    MembershipFactory(user=province.d11_supervisor, unit=province.d21, role=m.Role.SUPERVISOR)
    assert roots_of(province.d11_supervisor, province.cycle) == tuple(sorted([province.d11.pk, province.d21.pk]))


def test_a_school_account_sees_the_cycle_but_has_no_roots(province):
    access = scope.dashboard_access(user=province.s1_user, cycle_id=province.cycle.pk)

    assert access.cycle == province.cycle
    assert access.roots == ()


def test_another_provinces_supervisor_does_not_see_the_cycle(province):
    access = scope.dashboard_access(user=province.outside_supervisor, cycle_id=province.cycle.pk)

    assert access.cycle is None


def test_dashboard_access_sees_exactly_the_cycles_scope_makes_visible(province, superuser):
    from tracker import scope

    # Cycles at every level, and a caller with mixed roles (a supervisor elsewhere, a school here).
    city_cycle = CycleFactory(authority=province.city1)
    district_cycle = CycleFactory(authority=province.d21)
    MembershipFactory(user=province.outside_supervisor, unit=province.s4, role=m.Role.SCHOOL)
    cycles = [province.cycle, province.outside_cycle, city_cycle, district_cycle]
    users = [
        province.province_supervisor,
        province.province_inspector,
        province.city1_supervisor,
        province.city2_supervisor,
        province.d11_supervisor,
        province.s1_user,
        province.outside_supervisor,
        superuser,
        MembershipFactory(unit=province.s5, role=m.Role.SCHOOL).user,
    ]

    for user in users:
        for cycle in cycles:
            expected = scope.cycles_visible(user).filter(pk=cycle.pk).exists()
            access = scope.dashboard_access(user=user, cycle_id=cycle.pk)
            assert (access.cycle is not None) == expected, (user, cycle.authority)
    assert scope.dashboard_access(user=superuser, cycle_id=10**9).cycle is None


# --- Criteria ----------------------------------------------------------------------------------------------
def test_criteria_view_matches_the_hand_computed_numbers(province):
    rows = criteria_overview(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    summary = {
        row["criterion"]["code"]: (
            row["tasks"],
            row["approved"],
            row["submitted"],
            row["in_progress"],
            row["not_started"],
            row["returned"],
            row["overdue"],
            row["completion_rate"],
            row["on_time_rate"],
            row["average_score"],
        )
        for row in rows
    }
    assert summary == (
        {
            # K1: S5's own due time has not passed: 4 passed, all 4 on time; scores 8, 10, 10.
            "K1": (5, 3, 1, 0, 1, 0, 0, 3 / 5, 1.0, 9.33),
            # K2: S1 late, S2 and S5 not started (S2 overdue); scores 15, 13, 13.
            "K2": (5, 3, 0, 0, 2, 0, 1, 3 / 5, 2 / 4, 13.67),
            "K3": (5, 0, 0, 1, 3, 1, 0, 0.0, None, None),
        }
    )
    assert rows[0]["criterion"] == {"id": province.k1.pk, "code": "K1", "title": "Organisation"}
    assert rows[0]["max_score"] == 10.0
    assert rows[0]["due_at"] == "2026-03-01T08:00:00+08:00"  # local time


def test_criteria_view_of_a_district_counts_only_its_schools(province):
    rows = criteria_overview(cycle=province.cycle, roots=(province.d11.pk,), now=NOW)

    k1 = rows[0]
    assert (k1["tasks"], k1["approved"], k1["submitted"], k1["average_score"]) == (2, 1, 1, 8.0)


# --- One school --------------------------------------------------------------------------------------------
def test_school_view_lists_counts_overdue_tasks_due_soon_flag_and_open_urges(province):
    m.Urge.objects.create(
        cycle=province.cycle,
        school=province.s2,
        message="Please catch up on K2",
        respond_by=datetime(2026, 6, 25, tzinfo=UTC),
        created_at=datetime(2026, 6, 18, tzinfo=UTC),
    )
    m.Urge.objects.create(
        cycle=province.cycle,
        school=province.s2,
        message="answered",
        respond_by=datetime(2026, 4, 5, tzinfo=UTC),
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        response="done",
        responded_at=datetime(2026, 4, 2, tzinfo=UTC),
    )
    now = datetime(2026, 6, 20, tzinfo=UTC)

    view = school_overview(cycle=province.cycle, school=province.s2, now=now)

    assert view["counts"] == {
        "tasks": 3,
        "approved": 0,
        "submitted": 1,
        "in_progress": 0,
        "not_started": 2,
        "returned": 0,
        "overdue": 1,
        "at_risk": 1,  # K3: due in 10 days, untouched since January
    }
    assert [(t["criterion"]["code"], t["days_overdue"]) for t in view["overdue_tasks"]] == [("K2", 92)]
    assert [(t["criterion"]["code"], t["days_overdue"]) for t in view["due_soon"]] == [("K3", 0)]
    assert [t["criterion"]["code"] for t in view["at_risk_tasks"]] == ["K3"]
    assert view["flag"]["severity"] == "warning"
    assert [urge["message"] for urge in view["urges"]] == ["Please catch up on K2"]
    assert view["score"] == 0.0
    assert view["max_score"] == 40.0
    assert view["completion_rate"] == 0.0
    assert view["on_time_rate"] == 0.5


def test_school_view_score_and_rates(province):
    view = school_overview(cycle=province.cycle, school=province.s1, now=NOW)

    assert (view["score"], view["completion_rate"], view["on_time_rate"]) == (23.0, 2 / 3, 0.5)
    assert view["flag"] is None  # S1's flag is resolved
    assert view["overdue_tasks"] == []


# --- Query count ------------------------------------------------------------------------------------------
def district_of(n_schools: int) -> tuple[m.Cycle, m.Unit]:
    bureau = UnitFactory()
    supervisor = MembershipFactory(unit=bureau).user
    for _ in range(n_schools):
        SchoolFactory(parent=bureau)
    cycle = CycleFactory(authority=bureau)
    for _ in range(4):
        CriterionFactory(cycle=cycle, due_at=K1_DUE)
    cycle_activate(actor=supervisor, cycle=cycle, now=datetime(2026, 1, 5, tzinfo=UTC))
    return cycle, bureau


@pytest.mark.parametrize("selector", ["schools", "units", "criteria"])
def test_query_count_does_not_depend_on_the_number_of_schools(db, selector):
    counts = []
    for n in (5, 50):
        cycle, bureau = district_of(n)
        with CaptureQueriesContext(connection) as queries, after_response_queue() as queued:
            if selector == "schools":
                result = overview_schools(cycle=cycle, roots=(bureau.pk,), now=NOW).rows
            elif selector == "units":
                result = overview_units(cycle=cycle, unit=bureau, now=NOW).rows
            else:
                result = criteria_overview(cycle=cycle, roots=(bureau.pk,), now=NOW)
        with CaptureQueriesContext(connection) as keeping:
            run_queued(queued)  # what is kept once the response is sent
        assert len(result) == (n if selector != "criteria" else 4)
        counts.append((len(queries), len(keeping)))
    # One statement, and (PostgreSQL) the two that set and restore its session settings, in a savepoint; for
    # the flat overview, first one look for the cycle's parts stored in the database (the cache has none).
    assert counts[0] == counts[1]
    read, later = counts[0]
    assert read <= (6 if selector == "schools" and connection.vendor == "postgresql" else 5)
    assert later == 0  # nothing to keep: these cycles' rollups are not built, so there is no token


def test_the_app_connects_to_postgresql_with_jit_off(db):
    # The dashboards' plans cost seconds to JIT-compile for sub-second statements (docs/benchmarks.md);
    # the setting comes with every connection (config/settings/base.py), not per statement.
    if connection.vendor != "postgresql":
        pytest.fail("the test suite runs on PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone()[0] == "off"


@pytest.mark.parametrize("rollup_of", [None, "province", "city1", "city2"])
@pytest.mark.parametrize("now", [NOW, BEFORE_ANY_DEADLINE])
def test_the_json_the_database_builds_equals_the_rows_shaped_in_python(province, rollup_of, now):
    """PostgreSQL builds the JSON; other databases (the SQLite demo) return rows shaped in Python."""

    def both(**kwargs):
        if rollup_of is None:
            select = overview_schools
            kwargs["roots"] = (province.province.pk,)
        else:
            select = overview_units
            kwargs["unit"] = getattr(province, rollup_of)
        return [select(cycle=province.cycle, now=now, as_json=as_json, **kwargs) for as_json in (True, False)]

    from_json, from_rows = both()

    assert from_json.rows == from_rows.rows
    assert from_json.totals == from_rows.totals
    assert json.loads(from_rows.rows_json) == from_json.rows
    assert from_json.rows  # not vacuous


def test_an_empty_scope_has_zero_totals_and_no_rows(province):
    overview = overview_schools(cycle=province.cycle, roots=(province.empty_district.pk,), now=NOW)

    assert overview.rows == []
    assert overview.totals == {
        "schools": 0,
        "tasks": 0,
        "approved": 0,
        "submitted": 0,
        "in_progress": 0,
        "not_started": 0,
        "returned": 0,
        "overdue": 0,
        "at_risk": 0,
        "completion_rate": None,
        "on_time_rate": None,
        "on_time_original_rate": None,
        "extensions": 0,
        "flagged_schools": 0,
    }


def test_max_score_of_a_school_missing_a_task_counts_only_its_criteria(province):
    m.Task.objects.filter(school=province.s5, criterion=province.k2).delete()

    overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW)

    s5 = next(row for row in overview.rows if row["school"]["id"] == province.s5.pk)
    assert (s5["tasks"], s5["max_score"]) == (2, 20.0)  # K1 (10) + K3 (10), not K2 (20)


@pytest.mark.parametrize("rolled_up", [False, True])
def test_names_that_need_escaping_survive_the_json_built_by_the_database(province, rolled_up):
    hostile = 'S9 "引号" \\ back\\slash\nnew line\t{"x": [1]} 🏫'
    SchoolFactory(name=hostile, parent=province.d11)
    UnitFactory(name=hostile.replace("S9", "District 9"), parent=province.province)

    if rolled_up:
        overview = overview_units(cycle=province.cycle, unit=province.province, now=NOW, as_json=True)
        names = {row["unit"]["name"] for row in overview.rows}
        expected = hostile.replace("S9", "District 9")
    else:
        overview = overview_schools(cycle=province.cycle, roots=(province.province.pk,), now=NOW, as_json=True)
        names = {row["school"]["name"] for row in overview.rows}
        expected = hostile

    assert expected in names
    assert json.loads(overview.rows_json) == overview.rows
