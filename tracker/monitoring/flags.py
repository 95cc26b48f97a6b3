"""Falling behind (CONTRACT section 2): judge schools, and open, escalate, change or resolve their flags.

Set-based: one GROUP BY over the overdue tasks of the active cycles gives every lagging school's
count and oldest due time; the open flags are compared with it and the differences are written in
bulk, each with its event. The cycle rows are locked while judging, so concurrent judges (a second
sweep, an event handler) take turns and never open two flags for one school (the database's
one-open-flag constraint backs this up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Min

from tracker.assessment.models import Cycle, CycleStatus, Task
from tracker.assessment.rules import days_overdue, overdue_q
from tracker.audit.events import events_append
from tracker.audit.models import Event
from tracker.audit.types import EventType
from tracker.notify.deliveries import deliveries_enqueue

from .audience import Audience
from .models import Flag, FlagSeverity
from .reminder_plans import flag_reminders_plan
from .reminders import reminders_deliver


@dataclass(frozen=True)
class Thresholds:
    warning_overdue_tasks: int
    critical_overdue_tasks: int
    critical_days_overdue: int

    @classmethod
    def for_cycle(cls, cycle: Cycle) -> Thresholds:
        """The cycle's own thresholds where set, else the settings'."""
        rules = settings.TRACKER

        def pick(own: int | None, key: str) -> int:
            return own if own is not None else int(rules[key])

        return cls(
            warning_overdue_tasks=pick(cycle.warning_overdue_tasks, "WARNING_OVERDUE_TASKS"),
            critical_overdue_tasks=pick(cycle.critical_overdue_tasks, "CRITICAL_OVERDUE_TASKS"),
            critical_days_overdue=pick(cycle.critical_days_overdue, "CRITICAL_DAYS_OVERDUE"),
        )

    def severity(self, overdue_count: int, max_days_overdue: int) -> str | None:
        if overdue_count <= 0:
            return None
        if overdue_count >= self.critical_overdue_tasks or max_days_overdue >= self.critical_days_overdue:
            return FlagSeverity.CRITICAL
        if overdue_count >= self.warning_overdue_tasks:
            return FlagSeverity.WARNING
        return None


@dataclass
class FlagChanges:
    opened: int = 0
    escalated: int = 0
    severity_changed: int = 0
    resolved: int = 0
    changed_flag_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.opened + self.escalated + self.severity_changed + self.resolved

    def __iadd__(self, other: FlagChanges) -> FlagChanges:
        self.opened += other.opened
        self.escalated += other.escalated
        self.severity_changed += other.severity_changed
        self.resolved += other.resolved
        self.changed_flag_ids += other.changed_flag_ids
        return self


@transaction.atomic
def flags_judge(
    *, now: datetime, cycle_ids: Iterable[int] | None = None, school_ids: Iterable[int] | None = None
) -> FlagChanges:
    """Judge every school (or the given ones) of every active cycle (or the given ones) as of `now`."""
    cycles_qs = Cycle.objects.select_for_update().filter(status=CycleStatus.ACTIVE).order_by("id")
    if cycle_ids is not None:
        cycles_qs = cycles_qs.filter(id__in=list(cycle_ids))
    cycles = {cycle.pk: cycle for cycle in cycles_qs}
    changes = FlagChanges()
    if not cycles:
        return changes
    schools = list(school_ids) if school_ids is not None else None

    overdue = Task.objects.filter(overdue_q(now), cycle_id__in=list(cycles))
    flags = Flag.objects.filter(cycle_id__in=list(cycles), resolved_at__isnull=True)
    if schools is not None:
        overdue = overdue.filter(school_id__in=schools)
        flags = flags.filter(school_id__in=schools)
    lagging = {
        (row["cycle_id"], row["school_id"]): (row["n"], days_overdue(now, row["oldest"]))
        for row in overdue.order_by().values("cycle_id", "school_id").annotate(n=Count("id"), oldest=Min("due_at"))
    }
    open_flags = {
        (flag.cycle_id, flag.school_id): flag
        for flag in flags.only(
            "id",
            "cycle_id",
            "school_id",
            "severity",
            "overdue_count",
            "max_days_overdue",
            "opened_at",
            "escalated_at",
            "resolved_at",
        )
    }
    thresholds = {pk: Thresholds.for_cycle(cycle) for pk, cycle in cycles.items()}

    to_create: list[Flag] = []
    to_update: list[Flag] = []
    events: list[tuple[EventType, Flag, dict]] = []
    for key in sorted(set(lagging) | set(open_flags)):
        count, days = lagging.get(key, (0, 0))
        severity = thresholds[key[0]].severity(count, days)
        flag = open_flags.get(key)
        if flag is not None and (flag.escalated_at or flag.opened_at) > now:
            # A judgement older than the flag's last change (a clock stepped back, a skewed host, a
            # back-dated run) must not resolve or de-escalate it: the next sweep would open it again
            # and notify everyone a second time.
            continue
        facts = {"overdue_count": count, "max_days_overdue": days}
        if flag is None:
            if severity is None:
                continue
            flag = Flag(
                cycle_id=key[0],
                school_id=key[1],
                severity=severity,
                opened_at=now,
                escalated_at=now if severity == FlagSeverity.CRITICAL else None,
                **facts,
            )
            to_create.append(flag)
            events.append((EventType.FLAG_OPENED, flag, {"severity": severity, **facts}))
            changes.opened += 1
            continue
        if severity is None:
            flag.resolved_at = now
            flag.overdue_count, flag.max_days_overdue = 0, 0
            to_update.append(flag)
            events.append((EventType.FLAG_RESOLVED, flag, {"severity": flag.severity, **facts}))
            changes.resolved += 1
            continue
        touched = (flag.overdue_count, flag.max_days_overdue) != (count, days)
        flag.overdue_count, flag.max_days_overdue = count, days
        if severity != flag.severity:
            touched = True
            previous, flag.severity = flag.severity, severity
            if severity == FlagSeverity.CRITICAL and flag.escalated_at is None:
                flag.escalated_at = now
                events.append((EventType.FLAG_ESCALATED, flag, {"severity": severity, "from": previous, **facts}))
                changes.escalated += 1
            else:
                # Back to warning (or critical again): the latest judgement, recorded but not notified.
                events.append(
                    (EventType.FLAG_SEVERITY_CHANGED, flag, {"severity": severity, "from": previous, **facts})
                )
                changes.severity_changed += 1
        if touched:
            to_update.append(flag)

    if to_create:
        Flag.objects.bulk_create(to_create, batch_size=1000)
    _flags_update(to_update)
    _flag_events_record(events, now=now)
    changes.changed_flag_ids = [flag.pk for _, flag, _ in events]
    return changes


_UPDATE_PG = """
UPDATE tracker_flag f
SET severity = v.severity, overdue_count = v.n, max_days_overdue = v.d, escalated_at = v.esc, resolved_at = v.res
FROM unnest(%s::bigint[], %s::varchar[], %s::integer[], %s::integer[], %s::timestamptz[], %s::timestamptz[])
    AS v(id, severity, n, d, esc, res)
WHERE f.id = v.id
"""


def _flags_update(flags: list[Flag]) -> None:
    """Write the judged flags back: on PostgreSQL one statement over arrays (every open flag's counts
    change day by day, so this is 10^4 rows a sweep), elsewhere Django's bulk_update."""
    if not flags:
        return
    if connection.vendor == "postgresql":
        columns = [
            [f.pk for f in flags],
            [f.severity for f in flags],
            [f.overdue_count for f in flags],
            [f.max_days_overdue for f in flags],
            [f.escalated_at for f in flags],
            [f.resolved_at for f in flags],
        ]
        with connection.cursor() as cursor:
            cursor.execute(_UPDATE_PG, columns)
        return
    Flag.objects.bulk_update(
        flags, ["severity", "overdue_count", "max_days_overdue", "escalated_at", "resolved_at"], batch_size=500
    )


def _flag_events_record(events: list[tuple[EventType, Flag, dict]], *, now: datetime) -> None:
    """Append the flags' events to the hash chain in one go (the same chain and lock as event_record).

    Flag events are the audit trail of the judgement; their side effects (the flag_* reminders) are
    planned by the caller in the same transaction, so they are not dispatched to handlers.
    """
    events_append(
        [
            Event(
                type=type_,
                occurred_at=now,
                cycle_id=flag.cycle_id,
                school_id=flag.school_id,
                subject_type=Flag._meta.model_name,
                subject_id=str(flag.pk),
                data=data,
            )
            for type_, flag, data in events
        ]
    )


def flags_rejudge(*, now: datetime, cycle_id: int | None, school_ids: Iterable[int] | None = None) -> FlagChanges:
    """After a change to a school's tasks: judge it again and notify what opened or escalated.

    Called by event handlers inside their transaction; the flag_* reminders use the same unique
    keys as the sweep's, so whichever comes first sends them, once.
    """
    if cycle_id is None:
        return FlagChanges()
    with transaction.atomic():
        changes = flags_judge(now=now, cycle_ids=[cycle_id], school_ids=school_ids)
        if changes.opened or changes.escalated:
            planned = flag_reminders_plan(now=now, cycle_ids=[cycle_id], school_ids=school_ids)
            done = reminders_deliver(planned, now=now, audience=Audience())
            deliveries_enqueue(done.deliveries)
    return changes
