"""From recorded reminders to notifications and webhook deliveries, and the sweep's reminder step.

Delivery runs in the transaction that inserted the reminders: a reminder and its notifications commit
together or not at all; webhook deliveries are enqueued after commit. However often or however
concurrently a sweep runs, each (task, kind, stage, due_at) is sent once (tracker.monitoring.reminder_plans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from tracker.assessment.models import Task
from tracker.assessment.rules import days_overdue, open_q
from tracker.integrity.models import Check, Checklist
from tracker.integrity.rules import checklist_open_q
from tracker.notify.deliveries import deliveries_create, deliveries_enqueue
from tracker.notify.models import Notification, NotificationKind
from tracker.notify.texts import render
from tracker.sql import rows_written

from .audience import Audience
from .models import Flag, Urge
from .reminder_plans import (
    Planned,
    checklist_reminders_plan,
    flag_reminders_plan,
    task_reminders_plan,
    urge_reminders_plan,
)
from .rules import EarlyWarning, Stages, in_active_campaign_q, live_q
from .school_ranges import SchoolRange

K = NotificationKind


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


def _contexts(planned: list[Planned], now: datetime) -> dict[int, dict[str, Any]]:
    """What the texts of each planned reminder need, in one query per source kind."""
    out: dict[int, dict[str, Any]] = {}
    by_task = {p.task_id: p for p in planned if p.task_id}
    task_rows = Task.objects.filter(id__in=list(by_task)).values(
        "id",
        "school_id",
        "cycle_id",
        "campaign_id",
        "due_at",
        "progress",
        "criterion__code",
        "criterion__title",
        "title",
        "school__name",
    )
    task_info = {row["id"]: row for row in task_rows}
    flag_ids = [p.flag_id for p in planned if p.flag_id]
    flag_info = {
        row["id"]: row
        for row in Flag.objects.filter(id__in=flag_ids).values(
            "id",
            "school_id",
            "cycle_id",
            "campaign_id",
            "severity",
            "overdue_count",
            "max_days_overdue",
            "school__name",
        )
    }
    urge_ids = [p.urge_id for p in planned if p.urge_id]
    urge_info = {
        row["id"]: row
        for row in Urge.objects.filter(id__in=urge_ids).values(
            "id", "school_id", "cycle_id", "campaign_id", "respond_by", "created_at", "message", "school__name"
        )
    }
    checklist_info = _checklist_rows([p.checklist_id for p in planned if p.checklist_id])
    for p in planned:
        if p.task_id and p.task_id in task_info:
            row = task_info[p.task_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": row["cycle_id"],
                "campaign_id": row["campaign_id"],
                "task_id": p.task_id,
                "school": row["school__name"],
                # A rectification has no criterion: its own title, without a code.
                "code": row["criterion__code"] or "",
                "criterion": row["criterion__title"] or row["title"],
                "due_at": row["due_at"],
                "progress": row["progress"],
                "stage": p.stage,
                "days": _days(p, now, row["due_at"]),
            }
        elif p.checklist_id and p.checklist_id in checklist_info:
            row = checklist_info[p.checklist_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": None,
                "campaign_id": row["campaign_id"],
                "task_id": None,
                "school": row["school__name"],
                "campaign": row["campaign__title"],
                "open": row["open"],
                "due_at": row["due_at"],
                "stage": p.stage,
                "days": _days(p, now, row["due_at"]),
            }
        elif p.flag_id and p.flag_id in flag_info:
            row = flag_info[p.flag_id]
            out[p.id] = {
                "school_id": row["school_id"],
                "cycle_id": row["cycle_id"],
                "campaign_id": row["campaign_id"],
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
                "campaign_id": row["campaign_id"],
                "task_id": None,
                "school": row["school__name"],
                "respond_by": row["respond_by"],
                "created_at": row["created_at"],
                "message": row["message"],
            }
    return out


def _days(p: Planned, now: datetime, due_at: datetime) -> int:
    return -p.stage if p.kind == K.DUE_SOON else days_overdue(now, due_at)


def _checklist_rows(ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each checklist's school, campaign and how many of its checks are still open."""
    if not ids:
        return {}
    still_open = Check.objects.filter(
        campaign_id=OuterRef("campaign_id"), school_id=OuterRef("school_id"), result__isnull=True
    )
    rows = (
        Checklist.objects.filter(id__in=ids)
        .annotate(open=Coalesce(Subquery(still_open.values("campaign_id").annotate(n=Count("id")).values("n")), 0))
        .values("id", "school_id", "campaign_id", "campaign__title", "due_at", "open", "school__name")
    )
    return {row["id"]: row for row in rows}


def reminders_deliver(
    planned: list[Planned], *, now: datetime, audience: Audience, chunk: int = 2000
) -> DeliveryReport:
    """In-app notifications for every recipient of the reminders just recorded, and webhook deliveries.

    Runs in the transaction that inserted the reminders: a reminder and its notifications commit
    together or not at all. Webhook deliveries are enqueued after commit.
    """
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

    targets = [
        (webhook_id, f"msg_r{p.id}w{webhook_id}", _payload(p, ctx, now))
        for p in planned
        if (ctx := contexts.get(p.id)) is not None
        for unit_id in audience.units_for_kind(p.kind, ctx["school_id"])
        for webhook_id in audience.webhooks(unit_id)
    ]
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
    if connection.vendor == "postgresql":
        columns = [list(column) for column in zip(*rows, strict=True)]
        with connection.cursor() as cursor:
            cursor.execute(_NOTIFICATIONS_PG, [now, *columns])
            return rows_written(cursor)
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
    title, body = render(p.kind, ctx, settings.LANGUAGE_CODE)
    data: dict[str, Any] = {
        "kind": p.kind,
        "stage": p.stage,
        "title": title,
        "body": body,
        "school": ctx["school_id"],
        "cycle": ctx["cycle_id"],
        "campaign": ctx["campaign_id"],
        "task": ctx["task_id"],
    }
    if p.checklist_id:
        data["checklist"] = p.checklist_id
    if p.flag_id:
        data.update(flag=p.flag_id, severity=ctx.get("severity"), overdue_count=ctx.get("count"))
    if p.urge_id:
        data["urge"] = p.urge_id
    if ctx.get("due_at"):
        data["due_at"] = ctx["due_at"].isoformat()
    return {"type": f"reminder.{p.kind}", "timestamp": now.isoformat(), "data": data}


# --- The sweep's reminder step --------------------------------------------------------------------
def _id_bounds(model: type, q: Q, schools: SchoolRange) -> tuple[int, int] | None:
    # Over all rows, PostgreSQL reads the primary key from each end to the first row that qualifies. Over
    # a shard it would do the same, expecting the shard's rows spread evenly over the ids, but they lie
    # together (tasks are created school by school): from the far end it walks past every other shard's
    # rows (1.4-1.9 s a shard at 2.5 million tasks). `id + 0` is not the key: the shard's rows are found by
    # school and their ids aggregated.
    ident = F("id") if schools.everything else F("id") + 0
    bounds = model.objects.filter(q & schools.q()).aggregate(lo=Min(ident), hi=Max(ident))
    if bounds["lo"] is None:
        return None
    return bounds["lo"], bounds["hi"]


def _in_batches(
    plan: Callable[..., list[Planned]],
    bounds: tuple[int, int] | None,
    *,
    now: datetime,
    batch_size: int,
    stages: Stages,
    warning: EarlyWarning,
    audience: Audience,
    schools: SchoolRange,
) -> DeliveryReport:
    """Plan and deliver in batches of ids, each batch its own transaction."""
    report = DeliveryReport()
    if bounds is None:
        return report
    lo, hi = bounds
    while lo <= hi:
        with transaction.atomic():
            planned = plan(now=now, lo=lo, hi=lo + batch_size, stages=stages, warning=warning, schools=schools)
            done = reminders_deliver(planned, now=now, audience=audience)
            deliveries_enqueue(done.deliveries)
        report += done
        lo += batch_size
    return report


def reminders_run(
    *,
    now: datetime,
    batch_size: int | None = None,
    audience: Audience | None = None,
    schools: SchoolRange | None = None,
) -> DeliveryReport:
    """Every reminder due as of `now` to the schools in `schools` (a shard of the sweep; all when None):
    tasks and integrity checklists in batches of ids, then flags. Urges: urge_reminders_run."""
    batch_size = batch_size or int(settings.TRACKER["SWEEP_BATCH_SIZE"])
    audience = audience or Audience()
    schools = schools or SchoolRange()
    stages = Stages.from_settings()
    warning = EarlyWarning.from_settings()
    batches = {
        "now": now,
        "batch_size": batch_size,
        "stages": stages,
        "warning": warning,
        "audience": audience,
        "schools": schools,
    }
    report = _in_batches(task_reminders_plan, _id_bounds(Task, open_q() & live_q(), schools), **batches)
    live_checklists = checklist_open_q() & in_active_campaign_q()
    report += _in_batches(checklist_reminders_plan, _id_bounds(Checklist, live_checklists, schools), **batches)
    with transaction.atomic():
        planned = flag_reminders_plan(now=now, school_ids=schools.unit_ids())
        done = reminders_deliver(planned, now=now, audience=audience)
        deliveries_enqueue(done.deliveries)
    report += done
    return report


def urge_reminders_run(*, now: datetime, audience: Audience | None = None) -> DeliveryReport:
    """The reminders of every urge left unanswered past its respond_by (few: once per sweep, not per shard)."""
    with transaction.atomic():
        planned = urge_reminders_plan(now=now)
        done = reminders_deliver(planned, now=now, audience=audience or Audience())
        deliveries_enqueue(done.deliveries)
    return done
