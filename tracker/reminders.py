"""Reminder stages (CONTRACT section 2) and their exactly-once record.

For each task still owed by its school: `due_soon` at 7 and 1 days before due_at, `overdue` at
days_overdue 0, 3, 6, ..., `escalation` once 7 days overdue (offsets are settings). Flags remind at
`flag_opened` and `flag_critical`; urges at `urge_overdue` when their answer is late.

Only the latest stage a task has reached is recorded, and only if neither it nor a later stage was
recorded for the same due_at: a sweep that first sees a task 10 days late sends one overdue
reminder (stage 9), not four. Each reminder is inserted with INSERT ... SELECT ... ON CONFLICT DO
NOTHING RETURNING under the Reminder table's unique constraints, in id-range batches of tasks, and
only the rows this statement actually inserted go on to notifications and webhooks, in the same
transaction: however often or however concurrently a sweep runs, each (task, kind, stage, due_at)
is sent once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from .flags import whole_days
from .models import (
    OPEN_STATUSES,
    CycleStatus,
    Flag,
    Membership,
    NotificationKind,
    Role,
    Task,
    Unit,
    UnitKind,
    Urge,
)

K = NotificationKind
SCHOOL_KINDS = {K.DUE_SOON, K.OVERDUE, K.FLAG_OPENED, K.FLAG_CRITICAL, K.URGE_OVERDUE}
AUTHORITY_KINDS = {K.ESCALATION, K.FLAG_OPENED, K.FLAG_CRITICAL}


@dataclass(frozen=True)
class Stages:
    due_soon_days: tuple[int, ...]  # ascending: (1, 7)
    overdue_every_days: int
    escalation_days: int

    @classmethod
    def from_settings(cls) -> Stages:
        rules = settings.TRACKER
        return cls(
            due_soon_days=tuple(sorted({int(d) for d in rules["DUE_SOON_DAYS"] if int(d) > 0})),
            overdue_every_days=max(1, int(rules["OVERDUE_EVERY_DAYS"])),
            escalation_days=int(rules["ESCALATION_DAYS"]),
        )


@dataclass(frozen=True)
class Planned:
    """One reminder this call inserted (and so must deliver)."""

    id: int
    kind: str
    stage: int
    task_id: int | None = None
    flag_id: int | None = None
    urge_id: int | None = None


@dataclass
class DeliveryReport:
    reminders: int = 0
    notifications: int = 0
    deliveries: list[int] = field(default_factory=list)

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.reminders += other.reminders
        self.notifications += other.notifications
        self.deliveries += other.deliveries
        return self


# --- SQL ------------------------------------------------------------------------------------------
def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _ts(value: datetime) -> Any:
    """A datetime parameter as the backend stores it (SQLite: naive UTC text, compared as text)."""
    return value if _is_postgres() else connection.ops.adapt_datetimefield_value(value)


def _days_overdue_sql() -> str:
    """Whole days from t.due_at to %(now)s, in SQL (both sides are known to be overdue)."""
    if _is_postgres():
        return "FLOOR(EXTRACT(EPOCH FROM (%(now)s::timestamptz - t.due_at)) / 86400)::integer"
    return "((CAST(strftime('%%s', %(now)s) AS INTEGER) - CAST(strftime('%%s', t.due_at) AS INTEGER)) / 86400)"


# Typed NULLs: in a UNION an untyped NULL would be text to PostgreSQL.
NULL_ID = "CAST(NULL AS BIGINT)"
NULL_TS = "CAST(NULL AS TIMESTAMP WITH TIME ZONE)"

_INSERT = """
INSERT INTO tracker_reminder (kind, task_id, flag_id, urge_id, stage, due_at, created_at)
SELECT s.kind, s.task_id, s.flag_id, s.urge_id, s.stage, s.due_at, %(now)s
FROM ({candidates}) s
WHERE s.stage IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM tracker_reminder r
    WHERE {same_key} AND r.kind = s.kind AND r.stage >= s.stage
)
ORDER BY s.task_id, s.flag_id, s.urge_id, s.kind
ON CONFLICT DO NOTHING
RETURNING id, kind, stage, task_id, flag_id, urge_id
"""

_OPEN_TASKS = """
FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id
WHERE c.status = %(active)s AND t.id >= %(lo)s AND t.id < %(hi)s
  AND t.status IN (%(s1)s, %(s2)s, %(s3)s)
"""


def _task_candidates(stages: Stages) -> str:
    parts = []
    if stages.due_soon_days:
        whens = " ".join(f"WHEN t.due_at <= %(soon_{d})s THEN {-d}" for d in stages.due_soon_days)
        parts.append(
            f"SELECT %(due_soon)s AS kind, t.id AS task_id, {NULL_ID} AS flag_id, {NULL_ID} AS urge_id, "
            f"t.due_at AS due_at, "
            f"CASE {whens} END AS stage {_OPEN_TASKS} "
            f"AND t.due_at >= %(now)s AND t.due_at <= %(soon_{max(stages.due_soon_days)})s "
            # "Due soon" after "overdue" for the same deadline would be a clock gone back, never news.
            f"AND NOT EXISTS (SELECT 1 FROM tracker_reminder o WHERE o.task_id = t.id AND o.due_at = t.due_at "
            f"AND o.kind = %(overdue)s)"
        )
    days = _days_overdue_sql()
    every = stages.overdue_every_days
    parts.append(
        f"SELECT %(overdue)s, t.id, {NULL_ID}, {NULL_ID}, t.due_at, ({days}) - (({days}) %% {every}) {_OPEN_TASKS} "
        f"AND t.due_at < %(now)s"
    )
    parts.append(
        f"SELECT %(escalation)s, t.id, {NULL_ID}, {NULL_ID}, t.due_at, {stages.escalation_days} {_OPEN_TASKS} "
        f"AND t.due_at <= %(escalate_before)s"
    )
    return " UNION ALL ".join(parts)


def _fetch_planned(sql: str, params: dict[str, Any]) -> list[Planned]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            Planned(id=row[0], kind=row[1], stage=row[2], task_id=row[3], flag_id=row[4], urge_id=row[5])
            for row in cursor.fetchall()
        ]


def task_reminders_plan(*, now: datetime, lo: int, hi: int, stages: Stages | None = None) -> list[Planned]:
    """Record the due reminders of the tasks with lo <= id < hi; returns the ones inserted now."""
    stages = stages or Stages.from_settings()
    params: dict[str, Any] = {
        "now": _ts(now),
        "lo": lo,
        "hi": hi,
        "active": CycleStatus.ACTIVE,
        "s1": OPEN_STATUSES[0],
        "s2": OPEN_STATUSES[1],
        "s3": OPEN_STATUSES[2],
        "due_soon": K.DUE_SOON,
        "overdue": K.OVERDUE,
        "escalation": K.ESCALATION,
        "escalate_before": _ts(now - timedelta(days=stages.escalation_days)),
    }
    for d in stages.due_soon_days:
        params[f"soon_{d}"] = _ts(now + timedelta(days=d))
    sql = _INSERT.format(candidates=_task_candidates(stages), same_key="r.task_id = s.task_id AND r.due_at = s.due_at")
    return _fetch_planned(sql, params)


def flag_reminders_plan(
    *, now: datetime, cycle_ids: Iterable[int] | None = None, school_ids: Iterable[int] | None = None
) -> list[Planned]:
    """flag_opened for every open flag, flag_critical for every open flag that has been critical."""
    params: dict[str, Any] = {
        "now": _ts(now),
        "active": CycleStatus.ACTIVE,
        "opened": K.FLAG_OPENED,
        "critical": K.FLAG_CRITICAL,
    }
    where = "c.status = %(active)s AND f.resolved_at IS NULL"
    if cycle_ids is not None:
        ids = [int(i) for i in cycle_ids] or [0]
        where += f" AND f.cycle_id IN ({', '.join(str(i) for i in ids)})"
    if school_ids is not None:
        ids = [int(i) for i in school_ids] or [0]
        where += f" AND f.school_id IN ({', '.join(str(i) for i in ids)})"
    base = f"FROM tracker_flag f JOIN tracker_cycle c ON c.id = f.cycle_id WHERE {where}"
    candidates = (
        f"SELECT %(opened)s AS kind, {NULL_ID} AS task_id, f.id AS flag_id, {NULL_ID} AS urge_id, {NULL_TS} AS due_at, "
        f"0 AS stage "
        f"{base} UNION ALL "
        f"SELECT %(critical)s, {NULL_ID}, f.id, {NULL_ID}, {NULL_TS}, 0 {base} AND f.escalated_at IS NOT NULL"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.flag_id = s.flag_id"), params)


def urge_reminders_plan(*, now: datetime) -> list[Planned]:
    """urge_overdue once for every urge of an active cycle still unanswered after its respond_by."""
    params: dict[str, Any] = {"now": _ts(now), "active": CycleStatus.ACTIVE, "kind": K.URGE_OVERDUE}
    candidates = (
        f"SELECT %(kind)s AS kind, {NULL_ID} AS task_id, {NULL_ID} AS flag_id, u.id AS urge_id, "
        "u.respond_by AS due_at, 0 AS stage FROM tracker_urge u JOIN tracker_cycle c ON c.id = u.cycle_id "
        "WHERE c.status = %(active)s AND u.responded_at IS NULL AND u.respond_by < %(now)s"
    )
    return _fetch_planned(_INSERT.format(candidates=candidates, same_key="r.urge_id = s.urge_id"), params)


# --- Who hears about it ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    user_id: int
    language: str


class Audience:
    """School accounts and supervisors of units, and each school's nearest authority, cached per sweep."""

    def __init__(self) -> None:
        self._units: dict[int, tuple[int | None, str]] = {}
        self._members: dict[tuple[int, str], list[Recipient]] = {}
        self._webhooks: dict[int, list[int]] | None = None

    def _load_units(self, ids: Iterable[int]) -> None:
        missing = {i for i in ids if i is not None and i not in self._units}
        while missing:
            rows = Unit.objects.filter(id__in=missing).values_list("id", "parent_id", "kind")
            for uid, parent, kind in rows:
                self._units[uid] = (parent, kind)
            missing = {parent for parent, _ in (self._units[i] for i in missing if i in self._units)}
            missing = {i for i in missing if i is not None and i not in self._units}

    def authority_of(self, school_id: int) -> int | None:
        self._load_units([school_id])
        parent = self._units.get(school_id, (None, ""))[0]
        while parent is not None:
            self._load_units([parent])
            grand, kind = self._units.get(parent, (None, ""))
            if kind == UnitKind.AUTHORITY:
                return parent
            parent = grand
        return None

    def prime(self, school_ids: Iterable[int]) -> None:
        """Load, in a few queries, what members() and authority_of() will ask about these schools."""
        school_ids = set(school_ids)
        self._load_units(school_ids)
        authorities = {a for a in (self.authority_of(s) for s in school_ids) if a is not None}
        self._load_members(school_ids, Role.SCHOOL)
        self._load_members(authorities, Role.SUPERVISOR)

    def _load_members(self, unit_ids: Iterable[int], role: str) -> None:
        missing = {u for u in unit_ids if (u, role) not in self._members}
        if not missing:
            return
        for unit_id in missing:
            self._members[(unit_id, role)] = []
        rows = (
            Membership.objects.filter(unit_id__in=missing, role=role, user__is_active=True)
            .order_by("user_id")
            .values_list("unit_id", "user_id", "language")
        )
        for unit_id, user_id, language in rows:
            members = self._members[(unit_id, role)]
            if all(m.user_id != user_id for m in members):
                members.append(Recipient(user_id, language))

    def members(self, unit_id: int | None, role: str) -> list[Recipient]:
        if unit_id is None:
            return []
        self._load_members([unit_id], role)
        return self._members[(unit_id, role)]

    def for_kind(self, kind: str, school_id: int) -> list[Recipient]:
        found: dict[int, Recipient] = {}
        if kind in SCHOOL_KINDS:
            for r in self.members(school_id, Role.SCHOOL):
                found.setdefault(r.user_id, r)
        if kind in AUTHORITY_KINDS:
            for r in self.members(self.authority_of(school_id), Role.SUPERVISOR):
                found.setdefault(r.user_id, r)
        return list(found.values())

    def units_for_kind(self, kind: str, school_id: int) -> list[int]:
        units = []
        if kind in SCHOOL_KINDS:
            units.append(school_id)
        if kind in AUTHORITY_KINDS:
            authority = self.authority_of(school_id)
            if authority is not None:
                units.append(authority)
        return units

    def webhooks(self, unit_id: int) -> list[int]:
        if self._webhooks is None:
            from .models import Webhook

            self._webhooks = {}
            for webhook_id, owner in Webhook.objects.filter(active=True).values_list("id", "unit_id"):
                self._webhooks.setdefault(owner, []).append(webhook_id)
        return self._webhooks.get(unit_id, [])


# --- From reminders to notifications and webhooks -------------------------------------------------
def _contexts(planned: list[Planned], now: datetime) -> dict[int, dict[str, Any]]:
    """What the texts of each planned reminder need, in one query per source kind."""
    out: dict[int, dict[str, Any]] = {}
    by_task = {p.task_id: p for p in planned if p.task_id}
    task_rows = Task.objects.filter(id__in=list(by_task)).values(
        "id", "school_id", "cycle_id", "due_at", "criterion__code", "criterion__title", "school__name"
    )
    task_info = {row["id"]: row for row in task_rows}
    flag_ids = [p.flag_id for p in planned if p.flag_id]
    flag_info = {
        row["id"]: row
        for row in Flag.objects.filter(id__in=flag_ids).values(
            "id", "school_id", "cycle_id", "severity", "overdue_count", "max_days_overdue", "school__name"
        )
    }
    urge_ids = [p.urge_id for p in planned if p.urge_id]
    urge_info = {
        row["id"]: row
        for row in Urge.objects.filter(id__in=urge_ids).values(
            "id", "school_id", "cycle_id", "respond_by", "created_at", "message", "school__name"
        )
    }
    for p in planned:
        if p.task_id and p.task_id in task_info:
            row = task_info[p.task_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": row["cycle_id"],
                "task_id": p.task_id,
                "school": row["school__name"],
                "code": row["criterion__code"],
                "criterion": row["criterion__title"],
                "due_at": row["due_at"],
                "stage": p.stage,
                "days": -p.stage if p.kind == K.DUE_SOON else whole_days(now, row["due_at"]),
            }
        elif p.flag_id and p.flag_id in flag_info:
            row = flag_info[p.flag_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": row["cycle_id"],
                "task_id": None,
                "school": row["school__name"],
                "severity": row["severity"],
                "count": row["overdue_count"],
                "days": row["max_days_overdue"],
            }
        elif p.urge_id and p.urge_id in urge_info:
            row = urge_info[p.urge_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": row["cycle_id"],
                "task_id": None,
                "school": row["school__name"],
                "respond_by": row["respond_by"],
                "created_at": row["created_at"],
                "message": row["message"],
            }
    return out


def reminders_deliver(
    planned: list[Planned], *, now: datetime, audience: Audience, chunk: int = 2000
) -> DeliveryReport:
    """In-app notifications for every recipient of the reminders just recorded, and webhook deliveries.

    Runs in the transaction that inserted the reminders: a reminder and its notifications commit
    together or not at all. Webhook deliveries are enqueued after commit.
    """
    from .notifications import render
    from .webhooks import deliveries_create

    report = DeliveryReport(reminders=len(planned))
    if not planned:
        return report
    contexts = _contexts(planned, now)
    audience.prime({ctx["school_id"] for ctx in contexts.values()})

    def rows() -> Iterator[tuple]:
        for p in planned:
            ctx = contexts.get(p.id)
            if ctx is None:
                continue
            texts: dict[str, tuple[str, str]] = {}
            for recipient in audience.for_kind(p.kind, ctx["school_id"]):
                if recipient.language not in texts:
                    texts[recipient.language] = render(p.kind, ctx, recipient.language)
                title, body = texts[recipient.language]
                yield (
                    recipient.user_id,
                    p.kind,
                    title[:300],
                    body,
                    ctx["task_id"],
                    ctx["school_id"],
                    ctx["cycle_id"],
                    p.id,
                )

    batch: list[tuple] = []
    for row in rows():
        batch.append(row)
        if len(batch) >= chunk:
            report.notifications += _notifications_insert(batch, now=now)
            batch = []
    if batch:
        report.notifications += _notifications_insert(batch, now=now)

    targets = []
    for p in planned:
        ctx = contexts.get(p.id)
        if ctx is None:
            continue
        for unit_id in audience.units_for_kind(p.kind, ctx["school_id"]):
            for webhook_id in audience.webhooks(unit_id):
                targets.append((webhook_id, f"msg_r{p.id}w{webhook_id}", _payload(p, ctx, now)))
    report.deliveries = deliveries_create(targets, now=now)
    return report


_NOTIFICATION_COLUMNS = "recipient_id, kind, title, body, task_id, school_id, cycle_id, reminder_id, created_at"
_NOTIFICATIONS_PG = f"""
INSERT INTO tracker_notification ({_NOTIFICATION_COLUMNS})
SELECT *, %s::timestamptz FROM unnest(
    %s::bigint[], %s::varchar[], %s::varchar[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]
)
ON CONFLICT DO NOTHING
"""


def _notifications_insert(rows: list[tuple], *, now: datetime) -> int:
    """Insert notification rows (one per recipient and reminder); each (recipient, reminder) once.

    PostgreSQL takes them as one array per column, a single statement that costs no per-row
    Python; elsewhere Django's bulk_create.
    """
    from .models import Notification

    if _is_postgres():
        columns = [list(column) for column in zip(*rows, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(_NOTIFICATIONS_PG, [now, *columns])
            return max(cursor.rowcount, 0)
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=recipient,
                kind=kind,
                title=title,
                body=body,
                task_id=task,
                school_id=school,
                cycle_id=cycle,
                reminder_id=reminder,
                created_at=now,
            )
            for recipient, kind, title, body, task, school, cycle, reminder in rows
        ],
        ignore_conflicts=True,
    )
    return len(rows)


def _payload(p: Planned, ctx: dict[str, Any], now: datetime) -> dict[str, Any]:
    from .notifications import render

    title, body = render(p.kind, ctx, settings.LANGUAGE_CODE)
    data: dict[str, Any] = {
        "kind": p.kind,
        "stage": p.stage,
        "title": title,
        "body": body,
        "school": ctx["school_id"],
        "cycle": ctx["cycle_id"],
        "task": ctx["task_id"],
    }
    if p.flag_id:
        data.update(flag=p.flag_id, severity=ctx.get("severity"), overdue_count=ctx.get("count"))
    if p.urge_id:
        data["urge"] = p.urge_id
    if ctx.get("due_at"):
        data["due_at"] = ctx["due_at"].isoformat()
    return {"type": f"reminder.{p.kind}", "timestamp": now.isoformat(), "data": data}


# --- The sweep's reminder step --------------------------------------------------------------------
def _task_id_bounds() -> tuple[int, int] | None:
    bounds = Task.objects.filter(cycle__status=CycleStatus.ACTIVE, status__in=OPEN_STATUSES).aggregate(
        lo=Min("id"), hi=Max("id")
    )
    if bounds["lo"] is None:
        return None
    return bounds["lo"], bounds["hi"]


def reminders_run(*, now: datetime, batch_size: int | None = None, audience: Audience | None = None) -> DeliveryReport:
    """Every reminder due as of `now`, in batches of task ids, each batch its own transaction."""
    from .webhooks import deliveries_enqueue

    batch_size = batch_size or int(settings.TRACKER["SWEEP_BATCH_SIZE"])
    audience = audience or Audience()
    stages = Stages.from_settings()
    report = DeliveryReport()
    bounds = _task_id_bounds()
    if bounds is not None:
        lo, hi = bounds
        while lo <= hi:
            with transaction.atomic():
                planned = task_reminders_plan(now=now, lo=lo, hi=lo + batch_size, stages=stages)
                done = reminders_deliver(planned, now=now, audience=audience)
                deliveries_enqueue(done.deliveries)
            report += done
            lo += batch_size
    with transaction.atomic():
        planned = flag_reminders_plan(now=now) + urge_reminders_plan(now=now)
        done = reminders_deliver(planned, now=now, audience=audience)
        deliveries_enqueue(done.deliveries)
    report += done
    return report
