"""Shared fixtures: a small district (one authority, two schools, a sibling district) and clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate

from .factories import (
    CriterionFactory,
    CycleFactory,
    MembershipFactory,
    SchoolFactory,
    UnitFactory,
    UserFactory,
)


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


__all__ = ["District", "UserFactory"]
