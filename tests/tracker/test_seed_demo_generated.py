"""`seed_demo --schools N --criteria M`: a generated district of any size. Each test generates its own
(a few seconds); the demo district of SEED.md is in test_seed_demo.py."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from tracker import models as m
from tracker.demo.seed import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_seed_demo_generates_a_large_district_with_a_status_mix():
    call_command("seed_demo", "--schools", "40", "--criteria", "5", stdout=StringIO(), stderr=StringIO())

    cycle = m.Cycle.objects.get(name__endswith="cycle")
    assert cycle.status == m.CycleStatus.ACTIVE
    assert m.Task.objects.filter(cycle=cycle).count() == 200
    assert m.Task.objects.filter(cycle=cycle).values("status").distinct().count() == 5
    assert not m.Task.objects.filter(status=m.TaskStatus.APPROVED, score__isnull=True).exists()


@pytest.mark.sqlite
def test_the_generated_district_has_an_account_per_school_its_activation_and_a_progress_bar():
    err = StringIO()
    call_command("seed_demo", "--schools", "12", "--criteria", "3", stdout=StringIO(), stderr=err)

    authority = m.Unit.objects.get(code="GEN1")
    schools = m.Unit.objects.filter(parent=authority, kind=m.UnitKind.SCHOOL)
    assert schools.count() == 12
    # one school account per school, which logs in with the demo password
    members = m.Membership.objects.filter(unit__in=schools, role=m.Role.SCHOOL)
    assert sorted(members.values_list("unit_id", flat=True)) == sorted(schools.values_list("id", flat=True))
    account = get_user_model().objects.get(username="gen1-s00001")
    assert account.check_password(DEMO_PASSWORD) and account.email == "gen1-s00001@demo.invalid"
    assert account.memberships.get().unit.code == "GEN1-S00001"
    # every school x criterion once, the cycle active, its activation recorded with the count
    cycle = m.Cycle.objects.get(authority=authority)
    assert cycle.status == m.CycleStatus.ACTIVE and cycle.activated_at is not None
    tasks = m.Task.objects.filter(cycle=cycle)
    assert tasks.count() == tasks.values("school", "criterion").distinct().count() == 36
    activated = m.Event.objects.get(type="cycle.activated", cycle=cycle)
    assert activated.data["tasks_created"] == 36
    # the bars reached their totals
    assert "12/12" in err.getvalue() and "36/36" in err.getvalue()


def test_generated_district_has_last_activity_exactly_on_the_tasks_worked_on():
    now = timezone.now()
    call_command("seed_demo", "--schools", "40", "--criteria", "5", stdout=StringIO(), stderr=StringIO())

    tasks = m.Task.objects.filter(cycle__name__endswith="cycle")
    assert not tasks.filter(status=m.TaskStatus.NOT_STARTED, last_activity_at__isnull=False).exists()
    assert not tasks.exclude(status=m.TaskStatus.NOT_STARTED).filter(last_activity_at__isnull=True).exists()
    assert not tasks.filter(last_activity_at__gt=timezone.now()).exists()
    assert tasks.filter(last_activity_at__lt=now - timedelta(days=2)).exists()
