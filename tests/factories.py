"""factory_boy factories for the domain, and the setups several test modules build on the `district`
fixture (tests/conftest.py) through the services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from tracker import models as m
from tracker.assessment.cycle_services import criterion_create, cycle_activate
from tracker.monitoring.flags import flags_judge


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Unit

    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"U{n:05d}")
    kind = m.UnitKind.AUTHORITY
    parent = None


class SchoolFactory(UnitFactory):
    name = factory.Sequence(lambda n: f"School {n}")
    kind = m.UnitKind.SCHOOL


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Membership

    user = factory.SubFactory(UserFactory)
    unit = factory.SubFactory(UnitFactory)
    role = m.Role.SUPERVISOR


class CycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Cycle

    authority = factory.SubFactory(UnitFactory)
    name = factory.Sequence(lambda n: f"Cycle {n}")
    starts_on = date(2026, 1, 1)
    ends_on = date(2026, 12, 31)
    status = m.CycleStatus.DRAFT


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Criterion

    cycle = factory.SubFactory(CycleFactory)
    code = factory.Sequence(lambda n: f"C{n:02d}")
    title = factory.Sequence(lambda n: f"Criterion {n}")
    category = "organisational leadership"
    requirement = "Do the thing."
    due_at = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    max_score = Decimal("10")
    min_evidence = 1
    deduction_rules = factory.LazyFunction(
        lambda: [
            {"code": "D1", "description": "incomplete", "points": "2"},
            {"code": "D2", "description": "late minutes", "points": "3.5"},
        ]
    )
    late_penalty_per_day = Decimal("1")
    late_penalty_cap = Decimal("5")


class EvidenceFactory(factory.django.DjangoModelFactory):
    """An evidence row without bytes on disk (for workflow tests; uploads go through the API)."""

    class Meta:
        model = m.Evidence

    filename = factory.Sequence(lambda n: f"evidence-{n}.pdf")
    size = 1024
    sha256 = "0" * 64
    content_type = "application/pdf"
    uploaded_at = datetime(2026, 3, 1, tzinfo=UTC)


# --- Setups on the district fixture ---------------------------------------------------------------
FAR = timedelta(days=100)


def criteria_add(district, dues: Iterable[datetime], *, prefix: str, now: datetime | None = None) -> list[m.Criterion]:
    """One more criterion of the district's cycle per due time, through the service (so every school of an
    active cycle gets its task, its deadline set at `now`), coded `<prefix><n>` with n counting on from the
    criteria already there."""
    start = m.Criterion.objects.filter(cycle=district.cycle).count()
    return [
        criterion_create(
            actor=district.supervisor,
            cycle=district.cycle,
            code=f"{prefix}{n:03d}",
            title=f"Criterion {prefix}{n:03d}",
            category="work style",
            due_at=due_at,
            max_score=Decimal("5"),
            now=now,
        )
        for n, due_at in enumerate(dues, start=start)
    ]


def school_a_behind(district, *, now: datetime) -> tuple[m.Task, m.Flag]:
    """School A with one task two days late, so an open flag; every other task far from due; the criterion
    needs no evidence, so the school can submit at once (which resolves the flag)."""
    task = m.Task.objects.get(cycle=district.cycle, school=district.school_a)
    m.Task.objects.filter(pk=task.pk).update(due_at=now - timedelta(days=2))
    m.Task.objects.exclude(pk=task.pk).update(due_at=now + FAR)
    m.Criterion.objects.filter(pk=district.criterion.pk).update(min_evidence=0)
    flags_judge(now=now)
    return task, m.Flag.objects.get(school=district.school_a, resolved_at__isnull=True)


def school_a_just_late(district, *, now: datetime) -> m.Task:
    """School A's task an hour late, under the cycle's flag thresholds: the next sweep makes one reminder
    (overdue, stage 0) and no flag; every other task far from due."""
    m.Cycle.objects.filter(pk=district.cycle.pk).update(warning_overdue_tasks=9, critical_overdue_tasks=9)
    task = m.Task.objects.get(cycle=district.cycle, school=district.school_a)
    m.Task.objects.filter(pk=task.pk).update(due_at=now - timedelta(hours=1))
    m.Task.objects.exclude(pk=task.pk).update(due_at=now + FAR)
    return task


def district_spread(district, *, schools: int, now: datetime) -> list[int]:
    """`schools` more schools under the bureau, one school account each, and four more criteria due around
    `now` (8 days and half a day late, due in 3 days, in 20 days: overdue, escalated, due soon, at risk
    and nothing yet, 12 hours from any stage's edge), a quarter of the tasks approved, and an address for
    every account (digests). The other bureau's cycle is far off. Returns the bureau's school ids."""
    for _ in range(schools):
        MembershipFactory(unit=SchoolFactory(parent=district.bureau), role=m.Role.SCHOOL)
    cycle_activate(actor=district.supervisor, cycle=district.cycle, now=now - 100 * DAY)
    due = [now - 8 * DAY, now - DAY / 2, now + 3 * DAY, now + 20 * DAY]
    criteria_add(district, due, prefix="X", now=now - 100 * DAY)
    m.Task.objects.filter(cycle=district.other_cycle).update(due_at=datetime(2030, 1, 1, tzinfo=UTC))
    m.Task.objects.filter(cycle=district.cycle, id__in=_every_fourth(district)).update(status="approved", progress=100)
    for user in get_user_model().objects.all():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return list(m.Unit.objects.filter(kind=m.UnitKind.SCHOOL, parent=district.bureau).values_list("id", flat=True))


DAY = timedelta(days=1)


def _every_fourth(district) -> list[int]:
    ids = m.Task.objects.filter(cycle=district.cycle).order_by("id").values_list("id", flat=True)
    return list(ids)[::4]
