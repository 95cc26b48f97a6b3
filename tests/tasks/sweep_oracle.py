"""A reference model of CONTRACT sections 2 and 7 (falling behind, reminders, early warning), written from
the contract in plain Python, independently of tracker/'s SQL: what a sweep at `now` should have recorded.

Used by the clock-step test (item 7) and the Hypothesis state machine (item 8): after every step the
database must hold exactly the reminders and flags this model says, so "sent at most once", "never
lost", "only the latest stage", "flags escalate, then resolve" are all checked at once.

Days are 24-hour periods (`whole days since due_at`), so a daylight-saving change moves the local
hour of a reminder, never its day count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from django.db.models import Count

from tracker import models as m

DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
OPEN = {"not_started", "in_progress", "returned"}
DUE_SOON_DAYS = (1, 7)
OVERDUE_EVERY = 3
ESCALATION_DAYS = 7
WARNING_COUNT, CRITICAL_COUNT, CRITICAL_DAYS = 1, 3, 7
EARLY_WARNING_DAYS, AT_RISK_MARGIN, STAGNATION_DAYS = 14, 30, 14
RANK = {None: 0, "warning": 1, "critical": 2}


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def whole_days(now: datetime, due_at: datetime) -> int:
    return max(0, int((now - due_at) // DAY))


def at_risk(task: Task, now: datetime) -> bool:
    """Section 7: due within EARLY_WARNING_DAYS (not yet passed), and either more than AT_RISK_MARGIN points
    behind the elapsed fraction of [deadline set, due_at] times 100, or untouched for STAGNATION_DAYS."""
    if not now <= task.due_at <= now + EARLY_WARNING_DAYS * DAY:
        return False
    expected = Fraction(0)
    if task.due_set_at < now:
        expected = 100 * Fraction(
            (now - task.due_set_at) // MICROSECOND, (task.due_at - task.due_set_at) // MICROSECOND
        )
    last_happened = max(task.due_set_at, task.last_activity or task.due_set_at)
    return task.progress < expected - AT_RISK_MARGIN or last_happened <= now - STAGNATION_DAYS * DAY


def reached(task: Task, now: datetime) -> dict[str, int]:
    """The latest stage of each reminder kind that an open task has reached at `now`."""
    due_at = task.due_at
    out: dict[str, int] = {}
    if now <= due_at <= now + max(DUE_SOON_DAYS) * DAY:
        out["due_soon"] = next(-d for d in sorted(DUE_SOON_DAYS) if due_at <= now + d * DAY)
    if due_at < now:
        days = whole_days(now, due_at)
        out["overdue"] = days - days % OVERDUE_EVERY
    if due_at <= now - ESCALATION_DAYS * DAY:
        out["escalation"] = ESCALATION_DAYS
    if at_risk(task, now):
        out["at_risk"] = 0
    return out


def severity(count: int, days: int) -> str | None:
    if count >= CRITICAL_COUNT or (count and days >= CRITICAL_DAYS):
        return "critical"
    if count >= WARNING_COUNT:
        return "warning"
    return None


@dataclass
class Task:
    school: int
    status: str
    due_at: datetime
    due_set_at: datetime  # when due_at was last set (early warning measures from here)
    progress: int = 0
    last_activity: datetime | None = None


@dataclass
class Flag:
    severity: str
    escalated: bool
    resolved: bool = False
    kinds: set[str] = field(default_factory=set)


@dataclass
class Oracle:
    tasks: dict[int, Task]
    sent: dict[tuple[int, str, datetime], int] = field(default_factory=dict)
    reminders: set[tuple[int, str, int, datetime]] = field(default_factory=set)
    flags: dict[int, list[Flag]] = field(default_factory=dict)

    @classmethod
    def of(cls, tasks) -> Oracle:
        return cls(
            {
                t.pk: Task(
                    t.school_id,
                    t.status,
                    utc(t.due_at),
                    utc(t.due_set_at),
                    t.progress,
                    t.last_activity_at and utc(t.last_activity_at),
                )
                for t in tasks
            }
        )

    def act(self, pk: int, now: datetime, *, status: str | None = None, due_at: datetime | None = None) -> None:
        """What a service does to the model's task: a new status or deadline, and the activity's time."""
        task = self.tasks[pk]
        task.last_activity = utc(now)
        if status is not None:
            task.status = status
        if due_at is not None:
            task.due_at = utc(due_at)
            task.due_set_at = utc(now)

    def overdue(self, school: int, now: datetime) -> tuple[int, int]:
        late = [t.due_at for t in self.tasks.values() if t.school == school and t.status in OPEN and now > t.due_at]
        return len(late), (whole_days(now, min(late)) if late else 0)

    def open_flag(self, school: int) -> Flag | None:
        flags = self.flags.get(school, [])
        return flags[-1] if flags and not flags[-1].resolved else None

    def judge(self, now: datetime, schools=None) -> None:
        """Open, escalate, change or resolve flags as of `now`; notify what opened or escalated."""
        for school in sorted(schools if schools is not None else {t.school for t in self.tasks.values()}):
            wanted = severity(*self.overdue(school, now))
            flag = self.open_flag(school)
            if flag is None and wanted:
                flag = Flag(wanted, escalated=wanted == "critical")
                self.flags.setdefault(school, []).append(flag)
            elif flag is not None and wanted is None:
                flag.resolved = True
            elif flag is not None:
                flag.severity = wanted
                flag.escalated = flag.escalated or wanted == "critical"
            if flag is not None and not flag.resolved:
                flag.kinds |= {"flag_opened"} | ({"flag_critical"} if flag.escalated else set())

    def remind(self, now: datetime) -> None:
        for pk, task in self.tasks.items():
            if task.status not in OPEN:
                continue
            for kind, stage in reached(task, now).items():
                key = (pk, kind, task.due_at)
                if self.sent.get(key, -999) < stage:
                    self.sent[key] = stage
                    self.reminders.add((pk, kind, stage, task.due_at))

    def sweep(self, now: datetime) -> None:
        self.judge(now)
        self.remind(now)

    def recipients(self, kind: str) -> int:
        """One school account per school, one supervisor and one inspector per authority (the `district`
        fixture): flags reach the school and the supervisor, a critical one the inspector too."""
        return {"flag_opened": 2, "flag_critical": 3}.get(kind, 1)

    def assert_matches_database(self, schools: list[int]) -> None:
        task_reminders = {
            (task, kind, stage, utc(due_at))
            for task, kind, stage, due_at in m.Reminder.objects.filter(task__isnull=False).values_list(
                "task_id", "kind", "stage", "due_at"
            )
        }
        assert task_reminders == self.reminders, (
            f"missing {sorted(self.reminders - task_reminders)}, unexpected {sorted(task_reminders - self.reminders)}"
        )
        for school in schools:
            flags = list(m.Flag.objects.filter(school_id=school).order_by("id"))
            got = [(f.severity, f.resolved_at is not None, f.escalated_at is not None) for f in flags]
            want = [(f.severity, f.resolved, f.escalated) for f in self.flags.get(school, [])]
            assert got == want, f"school {school}: flags {got}, expected {want}"
            for flag, model in zip(flags, self.flags.get(school, []), strict=True):
                kinds = set(m.Reminder.objects.filter(flag=flag).values_list("kind", flat=True))
                assert kinds == model.kinds, f"flag {flag.pk}: reminders {kinds}, expected {model.kinds}"
        # each reminder reached each recipient once, and nobody else
        per_reminder = Counter(
            {
                (row["reminder"], row["reminder__kind"]): row["n"]
                for row in m.Notification.objects.filter(reminder__isnull=False)
                .values("reminder", "reminder__kind")
                .annotate(n=Count("id"))
            }
        )
        wrong = {key: n for key, n in per_reminder.items() if n != self.recipients(key[1])}
        assert not wrong, f"notifications per (reminder, kind): {wrong}"
        assert m.Reminder.objects.count() == len(per_reminder)
