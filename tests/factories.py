"""factory_boy factories for the domain."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from tracker import models as m


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
