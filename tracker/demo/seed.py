"""Demo data: the seed's district with a plausible year of history, or a generated large district.

The history goes through the services (so every step has its event, in the hash chain) with `now`
set to the moment it happened, day by day (year.py). Deadlines are placed relative to today so the demo always shows
schools ahead, schools behind, work due soon and work overdue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from tracker.assessment.cycle_services import criterion_create, cycle_activate, cycle_create
from tracker.assessment.models import Criterion, Cycle, CycleStatus, TaskStatus
from tracker.audit.events import event_record, events_imported
from tracker.audit.types import EventType
from tracker.org.models import Role, Unit, UnitKind
from tracker.org.services import account_create
from tracker.sql import rows_written

from .catalogue import BUREAU, CRITERIA, SCHOOLS
from .fairness import seed_fairness
from .inspections import seed_inspections
from .integrity_catalogue import PROVINCE
from .integrity_seed import seed_integrity
from .progress import progress_bars
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
    *,
    schools: int,
    criteria: int,
    now: datetime | None = None,
    out: Callable[[str], None] = print,
    stream: TextIO | None = None,
) -> Cycle:
    """A large generated district, fast, for benchmarks: one authority, `schools` schools with one school
    account each, one active cycle of `criteria` criteria and its tasks in a realistic status mix.

    Set-based and in chunks, so memory stays flat at any size: the schools by bulk_create, the accounts
    and the tasks by INSERT ... SELECT (every school x criterion of a chunk of schools in one statement,
    the status decided by a hash of the pair), the same SQL on PostgreSQL and SQLite. Progress bars go to
    `stream` (stderr)."""
    now = now or timezone.now()
    start = now - timedelta(days=300)
    tag = f"GEN{Unit.objects.filter(code__startswith='GEN').filter(kind=UnitKind.AUTHORITY).count() + 1}"
    admin = User.objects.filter(is_superuser=True).first()
    with progress_bars(stream) as bars, transaction.atomic():
        authority = Unit.objects.create(name=f"Generated district {tag}", code=tag, kind=UnitKind.AUTHORITY)
        bar = bars.add_task("schools", total=schools)
        for first in range(0, schools, GENERATED_CHUNK):
            last = min(first + GENERATED_CHUNK, schools)
            Unit.objects.bulk_create(
                Unit(name=f"{tag} school {i:05d}", code=f"{tag}-S{i:05d}", kind=UnitKind.SCHOOL, parent=authority)
                for i in range(first + 1, last + 1)
            )
            bars.advance(bar, last - first)
        bar = bars.add_task("accounts", total=schools)
        bars.advance(bar, _school_accounts_create(authority=authority, now=now))
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
        bar = bars.add_task("tasks", total=schools * criteria)
        created = 0
        for lo, hi, count in _school_chunks(authority, per_chunk=max(1, GENERATED_TASKS_PER_STATEMENT // criteria)):
            created += _generated_tasks_insert(cycle=cycle, school_lo=lo, school_hi=hi, now=now, activated=start)
            bars.advance(bar, count * criteria)
        # Activation without the materialising statement (the tasks are there, with their history).
        Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.ACTIVE, activated_at=start)
        cycle.refresh_from_db()
        event_record(
            type=EventType.CYCLE_ACTIVATED,
            subject=cycle,
            actor=admin,
            cycle=cycle,
            now=start,
            data={"tasks_created": created, "generated": True},
        )
    account_create(
        actor=admin, username=f"{tag.lower()}-supervisor", password=DEMO_PASSWORD, unit=authority, role=Role.SUPERVISOR
    )
    if connection.vendor == "postgresql":
        # Fresh statistics, so that the first sweep and dashboards plan for the table as it now is.
        with connection.cursor() as cursor:
            for table in ("tracker_unit", "auth_user", "tracker_membership", "tracker_task"):
                cursor.execute(f"ANALYZE {table}")
    out(f"  generated {schools} schools x {criteria} criteria = {created} tasks in cycle {cycle.pk}")
    out(f"  logins: {tag.lower()}-supervisor, {tag.lower()}-s00001 ... (password {DEMO_PASSWORD})")
    return cycle


GENERATED_CHUNK = 5000  # schools per bulk_create
GENERATED_TASKS_PER_STATEMENT = 50_000


def _ts(value: datetime) -> Any:
    """A datetime parameter of raw SQL as the backend stores it (SQLite: naive UTC text)."""
    return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)


def _school_accounts_create(*, authority: Unit, now: datetime) -> int:
    """One school account per school of the authority (login = the school's code in lower case, all with
    the demo password and an address), in two statements."""
    params = {"authority": authority.pk, "password": make_password(DEMO_PASSWORD), "now": _ts(now)}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                                   is_active, date_joined)
            SELECT %(password)s, false, lower(u.code), '', '', lower(u.code) || '@demo.invalid', false, true, %(now)s
            FROM tracker_unit u WHERE u.parent_id = %(authority)s AND u.kind = 'school'
            ORDER BY u.id
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO tracker_membership (user_id, unit_id, role, language, created_at)
            SELECT a.id, u.id, 'school', '', %(now)s
            FROM tracker_unit u JOIN auth_user a ON a.username = lower(u.code)
            WHERE u.parent_id = %(authority)s AND u.kind = 'school'
            """,
            params,
        )
        return rows_written(cursor)


def _school_chunks(authority: Unit, *, per_chunk: int) -> Iterator[tuple[int, int, int]]:
    """(first id, last id, count) of consecutive chunks of the authority's schools, in id order."""
    last = 0
    while True:
        ids = list(
            Unit.objects.filter(parent=authority, kind=UnitKind.SCHOOL, id__gt=last)
            .order_by("id")
            .values_list("id", flat=True)[:per_chunk]
        )
        if not ids:
            return
        yield ids[0], ids[-1], len(ids)
        last = ids[-1]


def _generated_tasks_insert(*, cycle: Cycle, school_lo: int, school_hi: int, now: datetime, activated: datetime) -> int:
    """Every task of the schools school_lo..school_hi, in a realistic status mix decided by a hash of
    (school, criterion). Of the tasks whose deadline has passed, 85% are approved, 6% submitted and 3% each in
    progress, returned and not started (so about one in eleven is overdue, as in a district that mostly
    keeps up); of the others, 5% approved, 10% submitted, 40% in progress, 3% returned, 42% not started."""
    s = TaskStatus
    # r: 0-99 from the pair. 41 spreads any 40 consecutive schools over the residues with no gap wider than
    # 2, so with 40 schools or more every band of 3 (each status) appears among each criterion's tasks.
    # b: the task's band, 0-39 approved, 40-49 submitted, 50-69 in progress, 70-74 returned, 75-99 not
    # started, whose own digits vary the dates within it.
    r = "(((u.id * 41) + (c.id * 29)) %% 100)"
    band = f"""CASE WHEN c.due_at < %(now)s THEN
                    CASE WHEN {r} < 85 THEN {r} %% 40 WHEN {r} < 91 THEN 40 + {r} %% 10
                         WHEN {r} < 94 THEN 50 + {r} %% 20 WHEN {r} < 97 THEN 70 + {r} %% 5 ELSE 75 + {r} %% 25 END
                ELSE
                    CASE WHEN {r} < 5 THEN {r} WHEN {r} < 15 THEN 40 + {r} %% 10 WHEN {r} < 55 THEN 50 + {r} %% 20
                         WHEN {r} < 58 THEN 70 + {r} %% 5 ELSE 75 + {r} %% 25 END
                END"""
    sql = f"""
        INSERT INTO tracker_task (cycle_id, criterion_id, school_id, status, due_at, has_own_due, original_due_at,
                                  due_set_at, extensions, progress, note, deductions, review_comment, return_reason,
                                  updated_at, submitted_at, submitted_due_at, score, reviewed_at, last_activity_at)
        SELECT %(cycle)s, p.criterion_id, p.school_id,
            CASE WHEN p.b < 40 THEN '{s.APPROVED}' WHEN p.b < 50 THEN '{s.SUBMITTED}'
                 WHEN p.b < 70 THEN '{s.IN_PROGRESS}' WHEN p.b < 75 THEN '{s.RETURNED}'
                 ELSE '{s.NOT_STARTED}' END,
            p.due_at, false, p.due_at, %(activated)s, 0,
            CASE WHEN p.b < 50 THEN 100 WHEN p.b < 75 THEN 50 ELSE 0 END,
            '', '[]', '', '', %(now)s,
            -- submitted: on its due day, or (one in five) late, today; never after now
            CASE WHEN p.b >= 50 THEN NULL WHEN p.b %% 5 = 0 OR p.due_at > %(now)s THEN %(now)s
                 ELSE p.due_at END,
            CASE WHEN p.b < 50 THEN p.due_at ELSE NULL END,
            CASE WHEN p.b < 40 THEN 5 - (p.b %% 3) ELSE NULL END,
            CASE WHEN p.b < 40 THEN %(now)s ELSE NULL END,
            -- the latest thing that happened: the review, the submission, or work a few days back on an open
            -- task; nothing for a task not started
            CASE WHEN p.b < 40 THEN %(now)s
                 WHEN p.b < 50 THEN (CASE WHEN p.b %% 5 = 0 OR p.due_at > %(now)s THEN %(now)s ELSE p.due_at END)
                 WHEN p.b < 75 THEN (CASE p.b %% 3 WHEN 0 THEN %(day_ago)s WHEN 1 THEN %(days_ago)s
                                     ELSE %(weeks_ago)s END)
                 ELSE NULL END
        FROM (
            SELECT u.id AS school_id, c.id AS criterion_id, c.due_at, {band} AS b
            FROM tracker_unit u CROSS JOIN tracker_criterion c
            WHERE c.cycle_id = %(cycle)s AND u.parent_id = %(authority)s AND u.kind = 'school'
              AND u.id >= %(lo)s AND u.id <= %(hi)s
        ) p
        ORDER BY p.school_id, p.criterion_id
    """
    params = {
        "cycle": cycle.pk,
        "authority": cycle.authority_id,
        "lo": school_lo,
        "hi": school_hi,
        "now": _ts(now),
        "activated": _ts(activated),
        "day_ago": _ts(now - timedelta(days=1)),
        "days_ago": _ts(now - timedelta(days=5)),
        "weeks_ago": _ts(now - timedelta(days=20)),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return rows_written(cursor)
