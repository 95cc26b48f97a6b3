"""Appeals (CONTRACT section 7): within APPEAL_WINDOW_DAYS of approval a school contests deductions or
the late penalty; a supervisor other than the approver (when there is one) upholds or amends.

An amendment rescores by section 2's formula (tracker.assessment.scoring, the approval's own code) with
the new deductions, writes what changed to the deduction ledger and records the decision with the score
before and after in the task's history: an approved task's score changes this way only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.types import Actor, EventType
from tracker.errors import AppealWindowClosed, InvalidTransition, RequestPending, SameReviewer, ValidationFailed
from tracker.org.selectors import supervisors_over

from .fairness_models import LATE_PENALTY, Appeal, AppealStatus
from .ledger import criterion_rules, ledger_appeal_record, ledger_state
from .models import Task
from .rules import appeal_window_closes_at, is_appeal_window_open
from .scoring import ZERO, score_compute
from .task_events import task_event_record
from .task_services import task_lock, task_request_check, task_scored_check
from .texts import moment_said, request_status_label
from .transitions import TaskRequest


class AppealDecision(StrEnum):
    UPHOLD = "uphold"
    AMEND = "amend"


def _unique(codes: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(codes))


@transaction.atomic
def appeal_create(
    *, task: Task | int, actor: Actor, reason: str, contested: Sequence[str], now: datetime | None = None
) -> Appeal:
    """Contest some of the deductions (rule codes) or the late penalty ("late_penalty") of an approved task."""
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(_("An appeal needs a reason."), field="reason")
    contested = _unique(contested)
    if not contested:
        raise ValidationFailed(_("Name at least one deduction rule, or late_penalty, to contest."), field="contested")
    task = task_lock(task)
    task_scored_check(task, actor)
    known = set(criterion_rules(task.criterion)) | {LATE_PENALTY}
    unknown = [code for code in contested if code not in known]
    if unknown:
        raise ValidationFailed(
            _("Not a deduction rule of this criterion: %(codes)s.") % {"codes": ", ".join(unknown)}, field="contested"
        )
    task_request_check(task, TaskRequest.APPEAL, actor)
    if not is_appeal_window_open(status=task.status, reviewed_at=task.reviewed_at, now=now):
        raise AppealWindowClosed(
            _("The time to appeal ended at %(moment)s.")
            % {"moment": moment_said(appeal_window_closes_at(task.reviewed_at))}
        )
    if Appeal.objects.filter(task=task, status=AppealStatus.PENDING).exists():
        raise RequestPending(_("This task already has a pending appeal."))
    applied = ledger_state(task)
    not_applied = [code for code in contested if code not in applied]
    if not_applied:
        raise ValidationFailed(
            _("Not applied to this task: %(codes)s.") % {"codes": ", ".join(not_applied)}, field="contested"
        )
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                task=task,
                reason=reason,
                contested=contested,
                created_at=now,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                score_before=task.score,
            )
    except IntegrityError as exc:  # a concurrent appeal for the same task won
        raise RequestPending(_("This task already has a pending appeal.")) from exc
    task.last_activity_at = now
    task.save(update_fields=["last_activity_at", "updated_at"])
    task_event_record(
        task,
        type=EventType.APPEAL_FILED,
        actor=actor,
        now=now,
        subject=appeal,
        data={"appeal": appeal.pk, "contested": contested, "reason": reason, "score": task.score},
    )
    return appeal


def appeal_reviewer_check(*, appeal: Appeal, actor: Actor) -> None:
    """The approver may not decide the appeal while another supervisor of the school can (403)."""
    approver = appeal.task.reviewed_by_id
    if approver is None or getattr(actor, "pk", None) != approver:
        return
    if supervisors_over(appeal.task.school_id).exclude(user_id=approver).exists():
        raise SameReviewer(
            _("The supervisor who approved this task may not decide its appeal: another supervisor must.")
        )


@transaction.atomic
def appeal_decide(
    *,
    appeal: Appeal | int,
    actor: Actor,
    decision: str,
    comment: str,
    deductions: Sequence[str] | None = None,
    waive_late_penalty: bool = False,
    now: datetime | None = None,
) -> Appeal:
    """Uphold (the score stands) or amend: rescore with `deductions` (default: those applied now), the late
    penalty waived or kept. Once."""
    now = now or timezone.now()
    pk = appeal if isinstance(appeal, int) else appeal.pk
    task = task_lock(Appeal.objects.values_list("task_id", flat=True).get(pk=pk))
    appeal = Appeal.objects.select_for_update().select_related("task").get(pk=pk)
    appeal_reviewer_check(appeal=appeal, actor=actor)
    if decision not in AppealDecision.__members__.values():
        raise ValidationFailed(_("The decision must be uphold or amend."), field="decision")
    if not comment.strip():
        raise ValidationFailed(_("A decision needs a comment."), field="comment")
    if decision == AppealDecision.UPHOLD and deductions is not None:
        raise ValidationFailed(_("Deductions apply only to an amendment."), field="deductions")
    if decision == AppealDecision.UPHOLD and waive_late_penalty:
        raise ValidationFailed(_("Waiving the late penalty applies only to an amendment."), field="waive_late_penalty")
    rules = criterion_rules(task.criterion)
    if deductions is not None:
        unknown = [code for code in _unique(deductions) if code not in rules]
        if unknown:
            raise ValidationFailed(
                _("Unknown deduction rule(s): %(codes)s.") % {"codes": ", ".join(unknown)}, field="deductions"
            )
    if appeal.status != AppealStatus.PENDING:
        raise InvalidTransition(
            _("This appeal has already been decided: %(status)s.") % {"status": request_status_label(appeal.status)},
            status=appeal.status,
            allowed=[],
        )

    score_before = task.score
    if decision == AppealDecision.AMEND:
        before = ledger_state(task)
        codes = _unique(deductions) if deductions is not None else [c for c in before if c != LATE_PENALTY]
        penalty = ZERO if waive_late_penalty else before.get(LATE_PENALTY, ZERO)
        after: dict[str, Decimal] = {code: rules[code].points for code in codes}
        if penalty:
            after[LATE_PENALTY] = penalty
        task.score = score_compute(
            max_score=task.criterion.max_score, deduction_points=[rules[c].points for c in codes], penalty=penalty
        )
        task.deductions = codes
        task.late_penalty = penalty
        ledger_appeal_record(task=task, appeal=appeal, before=before, after=after, actor=actor, now=now, reason=comment)
        appeal.status = AppealStatus.AMENDED
    else:
        appeal.status = AppealStatus.UPHELD
    task.last_activity_at = now
    task.save(update_fields=["score", "deductions", "late_penalty", "last_activity_at", "updated_at"])
    appeal.score_before = score_before
    appeal.score_after = task.score
    appeal.decided_at = now
    appeal.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    appeal.comment = comment
    appeal.save(update_fields=["status", "score_before", "score_after", "decided_at", "decided_by", "comment"])
    task_event_record(
        task,
        type=EventType.APPEAL_DECIDED,
        actor=actor,
        now=now,
        subject=appeal,
        data={
            "appeal": appeal.pk,
            "decision": decision,
            "score_before": score_before,
            "score_after": task.score,
            "deductions": task.deductions,
            "late_penalty": task.late_penalty,
            "comment": comment,
        },
    )
    return appeal
