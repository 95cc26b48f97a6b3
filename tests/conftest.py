"""Shared fixtures: a small district (one authority, two schools, a sibling district) and clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from tracker import models as m
from tracker.assessment.appeal_services import appeal_create
from tracker.assessment.cycle_services import cycle_activate
from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.extension_services import extension_request_create
from tracker.assessment.task_services import task_approve, task_progress, task_start, task_submit

from .factories import (
    CriterionFactory,
    CycleFactory,
    MembershipFactory,
    SchoolFactory,
    UnitFactory,
    UserFactory,
)
from .samples import upload

# Import every module a request reaches (the URLconf, the views and the libraries they import) now, before
# any test freezes the clock. A module first imported under freezegun keeps freezegun's classes wherever it
# stored them instead of naming them: openpyxl's table of date formats then lacks the real `datetime`, and
# every unfrozen XLSX export that process made afterwards answered 500 ("Could not get time format for
# None"). Whether it did depended on whether a frozen test made the process's first request: with
# tests/api/test_dashboards.py alone, on any xdist worker whose first test was one of its frozen ones.
get_resolver().url_patterns  # noqa: B018 (evaluated for its imports)


@dataclass
class District:
    bureau: m.Unit
    school_a: m.Unit
    school_b: m.Unit
    other_bureau: m.Unit
    other_school: m.Unit
    supervisor: object
    inspector: object
    school_a_user: object
    school_b_user: object
    other_supervisor: object
    other_school_user: object
    cycle: m.Cycle
    other_cycle: m.Cycle
    criterion: m.Criterion


@pytest.fixture
def district(db) -> District:
    bureau = UnitFactory(name="Putuo Education Bureau", code="PT")
    school_a = SchoolFactory(name="School A", parent=bureau)
    school_b = SchoolFactory(name="School B", parent=bureau)
    other_bureau = UnitFactory(name="Dinghai Education Bureau", code="DH")
    other_school = SchoolFactory(name="Other School", parent=other_bureau)

    def member(unit, role):
        return MembershipFactory(unit=unit, role=role).user

    cycle = CycleFactory(authority=bureau)
    criterion = CriterionFactory(cycle=cycle)
    other_cycle = CycleFactory(authority=other_bureau)
    CriterionFactory(cycle=other_cycle)
    d = District(
        bureau=bureau,
        school_a=school_a,
        school_b=school_b,
        other_bureau=other_bureau,
        other_school=other_school,
        supervisor=member(bureau, m.Role.SUPERVISOR),
        inspector=member(bureau, m.Role.INSPECTOR),
        school_a_user=member(school_a, m.Role.SCHOOL),
        school_b_user=member(school_b, m.Role.SCHOOL),
        other_supervisor=member(other_bureau, m.Role.SUPERVISOR),
        other_school_user=member(other_school, m.Role.SCHOOL),
        cycle=cycle,
        other_cycle=other_cycle,
        criterion=criterion,
    )
    cycle_activate(actor=d.supervisor, cycle=cycle, now=datetime(2026, 1, 5, tzinfo=UTC))
    cycle_activate(actor=d.other_supervisor, cycle=other_cycle, now=datetime(2026, 1, 5, tzinfo=UTC))
    cycle.refresh_from_db()
    other_cycle.refresh_from_db()
    return d


@pytest.fixture
def client_for():
    """client_for(user) -> an APIClient authenticated as that user."""

    def make(user) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


@pytest.fixture
def superuser(db):
    return UserFactory(is_superuser=True, is_staff=True)


@pytest.fixture
def task_a(district) -> m.Task:
    """School A's task for the district's criterion (not started, due 2026-06-30 16:00 UTC)."""
    return m.Task.objects.get(school=district.school_a, criterion=district.criterion)


@pytest.fixture
def task_b(district) -> m.Task:
    """School B's task for the same criterion: same district, another school."""
    return m.Task.objects.get(school=district.school_b, criterion=district.criterion)


@pytest.fixture
def task_other(district) -> m.Task:
    """The other district's school's task."""
    return m.Task.objects.get(school=district.other_school)


# --- Inspections and cases (CONTRACT section 9) ---------------------------------------------------------
# Full names of the persons in the fixture's cases: none of them may ever reach a school.
FULL_NAMES = ("张三", "欧阳明", "李四", "王五")
CASEWORK_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Casework:
    inspection: m.Inspection
    reported: m.Case  # school A, reported: never published
    published: m.Case  # school B, concluded and published
    notice: m.Notice
    other_case: m.Case  # the other district's, concluded and published
    other_notice: m.Notice


@pytest.fixture
def casework(district) -> Casework:
    """A round with two cases in the district (one published) and a published case next door."""
    from datetime import date

    from tracker.inspections.case_services import case_create, case_publish, case_update
    from tracker.inspections.inspection_services import TargetInput, inspection_create

    d = district
    now = CASEWORK_NOW
    inspection = inspection_create(
        actor=d.inspector,
        authority=d.bureau,
        kind="unannounced",
        held_on=date(2026, 2, 20),
        inspectors=4,
        targets=[
            TargetInput(kind="neighbourhood", name="东港花园小区"),
            TargetInput(kind="tutoring_centre", name="启航教育培训中心"),
            TargetInput(kind="school", school=d.school_a),
        ],
        summary="暗访举报较多的小区和校外培训机构。",
        now=now,
    )
    reported = case_create(
        actor=d.inspector,
        authority=d.bureau,
        inspection=inspection,
        school=d.school_a,
        type="paid_tutoring",
        occurred_on=date(2026, 2, 20),
        summary="李四在东港花园小区租房有偿补课。",
        persons=["李四"],
        now=now,
    )
    published = case_create(
        actor=d.inspector,
        authority=d.bureau,
        school=d.school_b,
        type="banquet",
        occurred_on=date(2026, 1, 10),
        summary="张三为其子操办升学宴，欧阳明收受礼金。",
        persons=["张三", "欧阳明"],
        now=now,
    )
    case_update(actor=d.inspector, case=published, changes={"status": "investigating"}, now=now)
    case_update(
        actor=d.inspector,
        case=published,
        changes={"status": "concluded", "disposition": "给予张三党内警告处分，欧阳明诫勉谈话并退还礼金。"},
        now=now,
    )
    notice = case_publish(actor=d.inspector, case=published, now=now)
    other_inspector = MembershipFactory(unit=d.other_bureau, role=m.Role.INSPECTOR).user
    other_case = case_create(
        actor=other_inspector,
        authority=d.other_bureau,
        school=d.other_school,
        type="second_job",
        occurred_on=date(2026, 1, 5),
        summary="王五在校外培训机构违规兼职。",
        persons=["王五"],
        disposition="责令辞去兼职，通报批评。",
        now=now,
    )
    case_update(actor=other_inspector, case=other_case, changes={"status": "investigating"}, now=now)
    case_update(actor=other_inspector, case=other_case, changes={"status": "concluded"}, now=now)
    other_notice = case_publish(actor=other_inspector, case=other_case, now=now)
    for case in (reported, published, other_case):
        case.refresh_from_db()
    return Casework(inspection, reported, published, notice, other_case, other_notice)


__all__ = ["District", "UserFactory"]


# --- A province, for what must not depend on the caller's depth in the tree -----------------------------------
@dataclass
class Province:
    province: m.Unit
    city: m.Unit
    district: m.Unit
    school: m.Unit  # the district's first school: its clerk has PROVINCE_CRITERIA tasks
    other_school: m.Unit  # in another district of the same city
    cycle: m.Cycle  # run by the province: every school has a task for each criterion
    users: dict[str, object]  # CALLERS -> user
    open_task: m.Task  # the school's, in progress: evidence, an extension request, history
    approved_task: m.Task  # the school's, approved with a deduction and appealed: the ledger
    other_task: m.Task  # the other school's


PROVINCE_CRITERIA = 55  # more than a page of 50 for one school
# Every kind of caller, at every depth: the school's clerk, supervisors and inspectors from the district
# to the province, and a superuser.
CALLERS = (
    "school",
    "supervisor@district",
    "supervisor@city",
    "supervisor@province",
    "inspector@district",
    "inspector@province",
    "superuser",
)


@pytest.fixture
def province(db) -> Province:
    now = timezone.now()
    top = UnitFactory(name="Zhejiang Education Department")
    city = UnitFactory(name="Zhoushan Education Bureau", parent=top)
    district = UnitFactory(name="Putuo Education Bureau", parent=city)
    next_district = UnitFactory(name="Dinghai Education Bureau", parent=city)
    school = SchoolFactory(name="Shenjiamen No. 1", parent=district)
    SchoolFactory(name="Shenjiamen No. 2", parent=district)
    other_school = SchoolFactory(name="Dinghai No. 1", parent=next_district)
    units = {"school": school, "district": district, "city": city, "province": top}
    users: dict[str, object] = {"school": MembershipFactory(unit=school, role=m.Role.SCHOOL).user}
    for caller in CALLERS:
        if "@" in caller:
            role, depth = caller.split("@")
            users[caller] = MembershipFactory(unit=units[depth], role=role).user
    users["superuser"] = UserFactory(is_superuser=True, is_staff=True)
    cycle = CycleFactory(authority=top)
    for _ in range(PROVINCE_CRITERIA):
        CriterionFactory(cycle=cycle, due_at=now + timedelta(days=30))
    cycle_activate(actor=users["supervisor@province"], cycle=cycle, now=now)
    clerk, reviewer = users["school"], users["supervisor@district"]
    open_task, approved_task = m.Task.objects.filter(school=school).order_by("id")[:2]
    for task in (open_task, approved_task):
        task_start(task=task, actor=clerk)
        task_progress(task=task, actor=clerk, progress=60, note="halfway")
        file = upload("pdf")
        evidence_add(task=task, actor=clerk, file=file, filename=file.name, size=file.size)
    extension_request_create(
        task=open_task, actor=clerk, requested_due_at=now + timedelta(days=40), reason="the inspectors came"
    )
    task_submit(task=approved_task, actor=clerk)
    task_approve(task=approved_task, actor=reviewer, deductions=["D1"], comment="one gap")
    appeal_create(task=approved_task, actor=clerk, reason="the gap was closed", contested=["D1"])
    return Province(
        province=top,
        city=city,
        district=district,
        school=school,
        other_school=other_school,
        cycle=cycle,
        users=users,
        open_task=m.Task.objects.get(pk=open_task.pk),
        approved_task=m.Task.objects.get(pk=approved_task.pk),
        other_task=m.Task.objects.filter(school=other_school).first(),
    )


# Markers whose tests share a process-wide resource (real workers, Redis or PostgreSQL faults, the
# browser): bin/test runs such tests in its serial phase only if they are also marked `serial`.
SERIAL_KINDS = ("integration", "faults", "browser")


def pytest_collection_modifyitems(config, items):
    """Refuse a test of a serial kind that is not marked `serial`: under bin/test's parallel phase it would
    share Redis, workers or the browser with the tests of the other xdist worker."""
    stray = [
        item.nodeid
        for item in items
        if any(item.get_closest_marker(kind) for kind in SERIAL_KINDS) and not item.get_closest_marker("serial")
    ]
    if stray:
        raise pytest.UsageError(f"mark these tests `serial` too ({', '.join(SERIAL_KINDS)}): {stray}")
