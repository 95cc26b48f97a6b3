"""The demo district's year, lived day by day: every task's history, the sweeps that judged the schools
and reminded them, the bureau's urges and the schools' answers, and the daily snapshots.

Everything goes through the services with `now` set to the moment it happened, in the order it happened,
so the flags open when the schools really fell behind, the urges follow them (in time, late or never),
and each day's snapshot counts that day's state: the oversight page and the trend chart have a past.
The history is imported (no side effects dispatched); what the sweeps of the past notified is marked
read, except the last week's, so a person logging in finds a realistic inbox, not a year of reminders.
"""

from __future__ import annotations

import heapq
import io
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial

from django.db.models import F
from django.utils import timezone

from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.models import Cycle, Task
from tracker.assessment.task_services import task_approve, task_progress, task_return, task_start, task_submit
from tracker.audit.types import Actor
from tracker.monitoring.models import Flag
from tracker.monitoring.services import urge_create, urge_respond
from tracker.monitoring.sweep import sweep_run
from tracker.notify.models import Notification
from tracker.org.models import Unit
from tracker.reporting.snapshots import snapshots_take

from .progress import progress

SWEEP_EVERY_DAYS = 7  # before the last weeks; daily in them
DAILY_SWEEPS_DAYS = 21
SNAPSHOT_DAYS = 100  # the trend chart shows 90
UNREAD_DAYS = 3
URGE = "你校目前有{count}项任务逾期，请于{by}前说明原因并报送整改计划。"
ANSWERS = [
    "已召开专题会议研究整改，逾期材料将于本周内补齐。",
    "已明确责任人和完成时限，相关佐证材料正在整理，将尽快提交。",
]


@dataclass
class Year:
    cycle: Cycle
    supervisor: Actor
    school_users: dict[int, Actor]
    now: datetime
    rng: random.Random
    queue: list[tuple[datetime, int, Callable[[], object]]] = field(default_factory=list)
    counter: int = 0

    def at(self, when: datetime, action: Callable[[], object]) -> bool:
        """Plan `action` for `when`; what would happen after now does not happen."""
        if when >= self.now:
            return False
        self.counter += 1
        heapq.heappush(self.queue, (when, self.counter, action))
        return True

    def run_until(self, moment: datetime) -> None:
        while self.queue and self.queue[0][0] <= moment:
            heapq.heappop(self.queue)[2]()


def year_play(*, cycle: Cycle, schools: list[tuple[Unit, Actor]], supervisor: Actor, now: datetime) -> None:
    cycle.refresh_from_db(fields=["activated_at", "status"])
    year = Year(
        cycle=cycle,
        supervisor=supervisor,
        school_users={school.pk: user for school, user in schools},
        now=now,
        rng=random.Random(2026),
    )
    for index, (school, user) in enumerate(schools):
        # Diligence: the first schools are ahead of the year, the last ones behind.
        diligence = 1.0 - index / (len(schools) - 1) * 0.85
        for task in Task.objects.filter(school=school).select_related("criterion").order_by("due_at"):
            _plan_task(year, task, user, diligence)
    first = timezone.localdate(cycle.activated_at) + timedelta(days=1)
    days = (timezone.localdate(now) - first).days
    last_check = cycle.activated_at
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        morning = min(_local(day, 9), now)
        year.run_until(morning)
        if offset % SWEEP_EVERY_DAYS == 0 or days - offset < DAILY_SWEEPS_DAYS:
            sweep_run(now=morning)
            _plan_urges(year, since=last_check)
            last_check = morning
        evening = min(_local(day, 18), now)
        year.run_until(evening)
        if days - offset < SNAPSHOT_DAYS:
            snapshots_take(now=evening)
        progress(offset + 1, days + 1, "the year")
    year.run_until(now)
    sweep_run(now=now)
    sys.stderr.write("\n")
    Notification.objects.filter(read_at__isnull=True, created_at__lt=now - timedelta(days=UNREAD_DAYS)).update(
        read_at=F("created_at") + timedelta(hours=20)
    )


def _local(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _office_hours(moment: datetime) -> datetime:
    """People urge and answer during the working day: a moment at night moves to 9:30 the next morning."""
    local = timezone.localtime(moment)
    if 8 <= local.hour < 18:
        return moment
    day = local.date() + timedelta(days=1) if local.hour >= 18 else local.date()
    return timezone.make_aware(datetime.combine(day, time(9, 30)))


def _pdf(title: str) -> io.BytesIO:
    body = f"Qinglian demo evidence: {title}".encode()
    return io.BytesIO(b"%PDF-1.4\n% demo\n1 0 obj << /Type /Catalog >> endobj\n" + body + b"\n%%EOF\n")


def _upload(task: Task, user: Actor, name: str, when: datetime) -> None:
    data = _pdf(name)
    evidence_add(task=task.pk, actor=user, file=data, filename=f"{name}.pdf", size=len(data.getvalue()), now=when)


def _plan_task(year: Year, task: Task, user: Actor, diligence: float) -> None:
    """A task's history: started, worked on, evidence, submitted (on time or late), reviewed."""
    rng, criterion, due = year.rng, task.criterion, task.due_at
    opened = due - timedelta(days=rng.randint(20, 45))
    if rng.random() > diligence + 0.15:
        return  # never started (overdue once its deadline has passed)
    if not year.at(opened, partial(task_start, task=task.pk, actor=user, now=opened)):
        return
    worked = opened + timedelta(days=3)
    note = "资料整理中"
    year.at(
        worked,
        partial(task_progress, task=task.pk, actor=user, progress=rng.choice([20, 40, 60]), note=note, now=worked),
    )
    for k in range(criterion.min_evidence):
        at = opened + timedelta(days=4 + k)
        if not year.at(at, partial(_upload, task, user, f"{criterion.title}-{k + 1}", at)):
            return
    late_days = 0 if rng.random() < diligence else rng.randint(1, 12)
    submitted = due - timedelta(days=rng.randint(1, 8)) + timedelta(days=late_days)
    if rng.random() > diligence + 0.25 or not year.at(
        submitted, partial(task_submit, task=task.pk, actor=user, now=submitted)
    ):
        return  # still in progress
    reviewed = submitted + timedelta(days=rng.randint(1, 6))
    if rng.random() < 0.2:
        reason = "佐证材料不完整，请补充会议纪要和签到表。"
        rework = reviewed + timedelta(days=10)
        returned = partial(
            task_return, task=task.pk, actor=year.supervisor, reason=reason, rework_due_at=rework, now=reviewed
        )
        if not year.at(reviewed, returned):
            return
        again = reviewed + timedelta(days=rng.randint(2, 12))
        if rng.random() > diligence or not year.at(again, partial(task_submit, task=task.pk, actor=user, now=again)):
            return
        reviewed = again + timedelta(days=2)
    codes = [rule["code"] for rule in criterion.deduction_rules]
    chosen = [code for code in codes if rng.random() > 0.5 + diligence / 2]
    year.at(
        reviewed,
        partial(task_approve, task=task.pk, actor=year.supervisor, deductions=chosen, comment="审核通过", now=reviewed),
    )


def _plan_urges(year: Year, *, since: datetime) -> None:
    """The bureau's follow-up of each flag opened since the last sweep: most in time and answered in
    time, some urged late and answered late, some never answered, some never urged."""
    for flag in Flag.objects.filter(cycle=year.cycle, opened_at__gt=since).order_by("opened_at", "id"):
        draw = year.rng.random()
        if draw < 0.2:
            continue  # never urged
        late = 0.65 <= draw < 0.85
        urged = flag.opened_at + (
            timedelta(days=year.rng.uniform(3, 5)) if late else timedelta(hours=year.rng.randint(3, 30))
        )
        answer_after = (
            None if draw >= 0.85 else timedelta(hours=year.rng.randint(80, 130) if late else year.rng.randint(6, 40))
        )
        year.at(urged, partial(_urge, year, flag.pk, urged, answer_after))


def _urge(year: Year, flag_id: int, when: datetime, answer_after: timedelta | None) -> None:
    flag = Flag.objects.select_related("school").get(pk=flag_id)
    if flag.resolved_at is not None and flag.resolved_at <= when:
        return  # the school caught up before anyone urged it
    respond_by = _local(timezone.localdate(when) + timedelta(days=2), 17)
    message = URGE.format(count=flag.overdue_count, by=timezone.localtime(respond_by).strftime("%m月%d日%H:%M"))
    urge = urge_create(
        actor=year.supervisor, cycle=year.cycle, school=flag.school, message=message, respond_by=respond_by, now=when
    )
    if answer_after is not None:
        answered = _office_hours(when + answer_after)
        response = year.rng.choice(ANSWERS)
        user = year.school_users[flag.school_id]
        year.at(answered, partial(urge_respond, actor=user, urge=urge.pk, response=response, now=answered))
