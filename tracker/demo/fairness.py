"""Demo data of CONTRACT section 7: requests for more time and appeals, decided and pending, through the
services, so the supervisors' queue, the original deadlines and the deduction ledgers have something
to show."""

from __future__ import annotations

from datetime import datetime, timedelta

from tracker.assessment.appeal_services import appeal_create, appeal_decide
from tracker.assessment.extension_services import extension_request_create, extension_request_decide
from tracker.assessment.models import Task, TaskStatus
from tracker.assessment.rules import OPEN_STATUSES
from tracker.audit.types import Actor
from tracker.org.models import Role

DAY = timedelta(days=1)


def _school_user(task: Task) -> Actor:
    return task.school.memberships.filter(role=Role.SCHOOL).first().user


def _after_history(task: Task, at: datetime, now: datetime) -> datetime:
    """`at`, or just after the task's own latest act if that came later: history stays in order."""
    latest = task.last_activity_at
    if latest is not None and latest >= at:
        at = latest + (now - latest) / 3
    return at


def seed_fairness(*, supervisor: Actor, now: datetime) -> tuple[int, int]:
    """Four extension requests (approved, rejected, pending, and one asked after its deadline) and two
    appeals (one amended, one pending when an approval is recent enough); returns (requests, appeals)."""
    requests = 0
    upcoming = list(
        Task.objects.filter(status__in=OPEN_STATUSES, due_at__gt=now + 3 * DAY, due_at__lt=now + 40 * DAY)
        .select_related("school", "criterion")
        .order_by("due_at", "school_id")[:3]
    )
    for task, decision in zip(upcoming, ["approve", "reject", None], strict=False):
        asked_at = _after_history(task, now - 2 * DAY, now)
        request = extension_request_create(
            task=task,
            actor=_school_user(task),
            requested_due_at=task.due_at + 14 * DAY,
            reason="校园改造施工，相关活动需延后两周开展。",
            now=asked_at,
        )
        requests += 1
        if decision is not None:
            comment = "同意延期，请按新期限完成。" if decision == "approve" else "期限内可完成，不予延期。"
            extension_request_decide(
                request=request,
                actor=supervisor,
                decision=decision,
                comment=comment,
                now=asked_at + (now - asked_at) / 2,
            )
    overdue = Task.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now - 2 * DAY).order_by("-due_at").first()
    if overdue is not None:
        extension_request_create(
            task=overdue,
            actor=_school_user(overdue),
            requested_due_at=now + 10 * DAY,
            reason="负责老师病假，材料未能按时提交。",
            now=_after_history(overdue, now - DAY, now),
        )
        requests += 1

    appeals = 0
    docked = (
        Task.objects.filter(status=TaskStatus.APPROVED)
        .exclude(deductions=[])
        .select_related("school", "criterion")
        .order_by("-reviewed_at")
    )
    settled = docked.filter(reviewed_at__lte=now - 3 * DAY).first()
    if settled is not None:
        filed = appeal_create(
            task=settled,
            actor=_school_user(settled),
            reason="扣分所依据的材料已在附件中提供，请复核。",
            contested=settled.deductions[:1],
            now=settled.reviewed_at + DAY,
        )
        appeal_decide(
            appeal=filed,
            actor=supervisor,
            decision="amend",
            deductions=settled.deductions[1:],
            comment="经复核，材料齐全，撤销该项扣分。",
            now=settled.reviewed_at + 2 * DAY,
        )
        appeals += 1
    recent = docked.filter(reviewed_at__gt=now - 6 * DAY).exclude(pk=getattr(settled, "pk", None)).first()
    if recent is not None:
        appeal_create(
            task=recent,
            actor=_school_user(recent),
            reason="逾期系系统故障所致，申请复核。",
            contested=recent.deductions[:1],
            now=recent.reviewed_at + (now - recent.reviewed_at) / 2,
        )
        appeals += 1
    return requests, appeals
