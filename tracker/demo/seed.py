"""Demo data: the seed's district with a plausible year of history, or a generated large district.

The history goes through the services (so every step has its event, in the hash chain) with `now`
set to the moment it happened, day by day (year.py). Deadlines are placed relative to today so the demo always shows
schools ahead, schools behind, work due soon and work overdue.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from tracker.assessment.cycle_services import criterion_create, cycle_activate, cycle_create
from tracker.assessment.models import Criterion, Cycle, TaskStatus
from tracker.audit.events import events_imported
from tracker.org.models import Role, Unit, UnitKind
from tracker.org.services import account_create

from .catalogue import BUREAU, CRITERIA, SCHOOLS
from .fairness import seed_fairness
from .inspections import seed_inspections
from .integrity_catalogue import PROVINCE
from .integrity_seed import seed_integrity
from .progress import progress
from .year import year_play

DEMO_PASSWORD = "qinglian-demo"
User = get_user_model()


@dataclass
class Login:
    username: str
    role: str
    unit: str


def demo_exists() -> bool:
    return Unit.objects.filter(code=BUREAU[1]).exists()


def demo_logins() -> list[Login]:
    logins = [Login("admin", "superuser", "—")]
    for user in User.objects.filter(memberships__unit__code__startswith="PT").order_by("id").distinct():
        membership = user.memberships.select_related("unit").first()
        logins.append(Login(user.username, membership.role, membership.unit.name))
    return logins


def _local(day: datetime, hour: int = 17) -> datetime:
    return timezone.make_aware(datetime.combine(day.date(), time(hour, 0)))


def seed_district(*, now: datetime | None = None, out: Callable[[str], None] = print) -> None:
    """The seed's district: one bureau, an inspector, 17 schools, 19 criteria, a year of history.

    The history is imported: its events are chained but dispatch nothing; the year is played day by day
    with its sweeps, urges and snapshots (tracker/demo/year.py).
    """
    with events_imported():
        _seed_district(now=now or timezone.now(), out=out)


def _seed_district(*, now: datetime, out: Callable[[str], None]) -> None:
    start = now - timedelta(days=330)
    with transaction.atomic():
        User.objects.create_superuser("admin", "admin@example.org", DEMO_PASSWORD)
        # The province issues the two lists (tracker.demo.integrity_seed); the bureau runs the district.
        province = Unit.objects.create(name=PROVINCE[0], code=PROVINCE[1], kind=UnitKind.AUTHORITY)
        bureau = Unit.objects.create(name=BUREAU[0], code=BUREAU[1], kind=UnitKind.AUTHORITY, parent=province)
        admin = User.objects.get(username="admin")
        supervisor = account_create(
            actor=admin,
            username="bureau",
            password=DEMO_PASSWORD,
            unit=bureau,
            role=Role.SUPERVISOR,
            language="zh-hans",
        ).user
        inspector = account_create(
            actor=admin, username="jjz", password=DEMO_PASSWORD, unit=bureau, role=Role.INSPECTOR, language="zh-hans"
        ).user
        schools = []
        for i, name in enumerate(SCHOOLS, start=1):
            school = Unit.objects.create(name=name, code=f"PT-S{i:02d}", kind=UnitKind.SCHOOL, parent=bureau)
            user = account_create(
                actor=supervisor,
                username=f"school{i:02d}",
                password=DEMO_PASSWORD,
                unit=school,
                role=Role.SCHOOL,
                language="zh-hans",
            ).user
            schools.append((school, user))
        cycle = cycle_create(
            actor=supervisor,
            authority=bureau,
            name=f"{now.year}年度清廉学校建设主体责任考评",
            starts_on=start.date(),
            ends_on=(start + timedelta(days=365)).date(),
        )
        for n, (category, title, requirement, month, max_score, min_evidence, rules) in enumerate(CRITERIA, 1):
            offset = (month - 1) * 30 + 14 if month < 12 else (334 if n % 2 else 342)
            criterion_create(
                actor=supervisor,
                cycle=cycle,
                code=f"{n:02d}",
                title=title,
                category=category,
                requirement=requirement,
                due_at=_local(start + timedelta(days=offset)),
                max_score=Decimal(max_score),
                min_evidence=min_evidence,
                deduction_rules=[{"code": c, "description": d, "points": p} for c, d, p in rules],
                late_penalty_per_day=Decimal("0.5"),
                late_penalty_cap=Decimal(max_score) / 2,
            )
        cycle_activate(actor=supervisor, cycle=cycle, now=start + timedelta(days=1))
        seed_inspections(authority=bureau, inspector=inspector, out=out)
    out(f"  district: {bureau.name}, {len(schools)} schools, {len(CRITERIA)} criteria")
    # The integrity programme's year first, so the year's sweeps judge its rectifications and checklists too.
    with transaction.atomic():
        seed_integrity(province=province, bureau=bureau, supervisor=supervisor, schools=schools, now=now, out=out)
    year_play(cycle=cycle, schools=schools, supervisor=supervisor, now=now)
    with transaction.atomic():
        requests, appeals = seed_fairness(supervisor=supervisor, now=now)
    out(f"  deadline fairness: {requests} extension requests, {appeals} appeals")


def seed_generated(
    *, schools: int, criteria: int, now: datetime | None = None, out: Callable[[str], None] = print
) -> Cycle:
    """A large generated district, fast: bulk inserts and set-based updates (for benchmarks)."""
    now = now or timezone.now()
    start = now - timedelta(days=300)
    tag = f"GEN{Unit.objects.filter(code__startswith='GEN').filter(kind=UnitKind.AUTHORITY).count() + 1}"
    admin = User.objects.filter(is_superuser=True).first()
    with transaction.atomic():
        authority = Unit.objects.create(name=f"Generated district {tag}", code=tag, kind=UnitKind.AUTHORITY)
        chunk = 2000
        for first in range(0, schools, chunk):
            Unit.objects.bulk_create(
                Unit(name=f"{tag} school {i:05d}", code=f"{tag}-S{i:05d}", kind=UnitKind.SCHOOL, parent=authority)
                for i in range(first + 1, min(first + chunk, schools) + 1)
            )
            progress(min(first + chunk, schools), schools, "schools")
        sys.stderr.write("\n")
        cycle = Cycle.objects.create(
            authority=authority,
            name=f"{tag} cycle",
            starts_on=start.date(),
            ends_on=(start + timedelta(days=365)).date(),
        )
        Criterion.objects.bulk_create(
            Criterion(
                cycle=cycle,
                code=f"K{n:03d}",
                title=f"Criterion {n}",
                category=CRITERIA[n % 19][0],
                requirement=CRITERIA[n % 19][2],
                due_at=start + timedelta(days=7 * n % 360),
                max_score=Decimal(5),
                min_evidence=1,
                deduction_rules=[{"code": "D1", "description": "incomplete", "points": "2"}],
                late_penalty_per_day=Decimal("0.5"),
                late_penalty_cap=Decimal("2"),
            )
            for n in range(1, criteria + 1)
        )
        progress(1, 3, "tasks")
        created = cycle_activate(actor=admin, cycle=cycle, now=start)
        progress(2, 3, "tasks")
        _mix_statuses(cycle=cycle, now=now)
        progress(3, 3, "tasks")
        sys.stderr.write("\n")
    account_create(
        actor=admin, username=f"{tag.lower()}-supervisor", password=DEMO_PASSWORD, unit=authority, role=Role.SUPERVISOR
    )
    out(f"  generated {schools} schools x {criteria} criteria = {created} tasks in cycle {cycle.pk}")
    return cycle


def _mix_statuses(*, cycle: Cycle, now: datetime) -> None:
    """A realistic status mix, decided by a hash of the task id, set-based in one statement."""
    s = TaskStatus
    bucket = "((id * 7919) %% 100)"
    sql = f"""
        UPDATE tracker_task SET
            status = CASE WHEN {bucket} < 40 THEN '{s.APPROVED}' WHEN {bucket} < 50 THEN '{s.SUBMITTED}'
                          WHEN {bucket} < 70 THEN '{s.IN_PROGRESS}' WHEN {bucket} < 75 THEN '{s.RETURNED}'
                          ELSE '{s.NOT_STARTED}' END,
            progress = CASE WHEN {bucket} < 50 THEN 100 WHEN {bucket} < 75 THEN 50 ELSE 0 END,
            submitted_at = CASE WHEN {bucket} < 50 THEN (CASE WHEN {bucket} %% 5 = 0 THEN %(now)s ELSE due_at END)
                                ELSE NULL END,
            submitted_due_at = CASE WHEN {bucket} < 50 THEN due_at ELSE NULL END,
            score = CASE WHEN {bucket} < 40 THEN 5 - ({bucket} %% 3) ELSE NULL END,
            reviewed_at = CASE WHEN {bucket} < 40 THEN %(now)s ELSE NULL END,
            -- The latest thing that happened: the review, the submission (never after now), or work a
            -- few days back on an open task; nothing for a task not started.
            last_activity_at = CASE
                WHEN {bucket} < 40 THEN %(now)s
                WHEN {bucket} < 50 THEN (CASE WHEN {bucket} %% 5 = 0 OR due_at > %(now)s THEN %(now)s ELSE due_at END)
                WHEN {bucket} < 75 THEN (CASE {bucket} %% 3 WHEN 0 THEN %(day_ago)s WHEN 1 THEN %(days_ago)s
                                         ELSE %(weeks_ago)s END)
                ELSE NULL END
        WHERE cycle_id = %(cycle)s
    """
    params = {
        "now": now,
        "cycle": cycle.pk,
        "day_ago": now - timedelta(days=1),
        "days_ago": now - timedelta(days=5),
        "weeks_ago": now - timedelta(days=20),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
