"""The monitoring context's event handlers: recount the rollups of the schools whose tasks changed and
judge a school again when its tasks change, a cycle again
when its deadlines or thresholds change, tell a school it was urged and the bureau that it answered.
Registered at app ready (tracker.apps); each is idempotent."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType
from tracker.notify.models import NotificationKind
from tracker.notify.services import event_notify_rendered, event_school_notify_rendered
from tracker.org.models import Role
from tracker.org.selectors import account_language, unit_members
from tracker.org.tree import nearest_authorities

from .flags import flags_rejudge
from .models import Urge
from .rollups import rollups_flush

THRESHOLD_FIELDS = {"warning_overdue_tasks", "critical_overdue_tasks", "critical_days_overdue"}


def _judged_at(event: Event) -> datetime:
    # As of the event, or of now if it is handled late (relay): a late judgement must not be stale.
    return max(event.occurred_at, timezone.now())


@handles(
    EventType.TASK_STARTED,
    EventType.TASK_PROGRESSED,
    EventType.TASK_SUBMITTED,
    EventType.TASK_APPROVED,
    EventType.TASK_RETURNED,
    EventType.TASK_EXTENDED,
)
def rejudge_school(event: Event) -> None:
    # An assessment task's event carries its cycle; a rectification's round is its task's campaign.
    campaign_id = event.task.campaign_id if event.cycle_id is None and event.task_id else None
    rollups_flush(now=_judged_at(event))
    flags_rejudge(now=_judged_at(event), cycle_id=event.cycle_id, campaign_id=campaign_id, school_ids=[event.school_id])


@handles(EventType.CHECK_RECORDED)
def rejudge_checklist(event: Event) -> None:
    """A recorded check may close a school's checklist that was holding a flag open."""
    flags_rejudge(
        now=_judged_at(event), cycle_id=None, campaign_id=event.data.get("campaign"), school_ids=[event.school_id]
    )


@handles(EventType.CAMPAIGN_ACTIVATED)
def rejudge_campaign(event: Event) -> None:
    rollups_flush(now=_judged_at(event))
    flags_rejudge(now=_judged_at(event), cycle_id=None, campaign_id=int(event.subject_id))


@handles(EventType.CRITERION_CREATED, EventType.CRITERION_UPDATED, EventType.CYCLE_ACTIVATED, EventType.CYCLE_UPDATED)
def rejudge_cycle(event: Event) -> None:
    rollups_flush(now=_judged_at(event))  # new tasks (activation, criteria), moved deadlines
    changed = event.data.get("changed", {})
    if event.type == EventType.CRITERION_UPDATED and "due_at" not in changed:
        return
    if event.type == EventType.CYCLE_UPDATED and not THRESHOLD_FIELDS & set(changed):
        return
    flags_rejudge(now=_judged_at(event), cycle_id=event.cycle_id)


# The other changes that write tasks (last activity, scores, new rectifications). Their schools were
# marked dirty in their transactions by the task table's triggers; recount them now that they have
# committed, so that readers read rows again (the handlers above do the same for theirs).
@handles(
    EventType.EXTENSION_REQUESTED,
    EventType.EXTENSION_DECIDED,
    EventType.APPEAL_FILED,
    EventType.APPEAL_DECIDED,
    EventType.EVIDENCE_UPLOADED,
    EventType.EVIDENCE_DELETED,
    EventType.RECTIFICATION_CREATED,
)
def flush_rollups(event: Event) -> None:
    rollups_flush(now=_judged_at(event))


@handles(EventType.URGE_CREATED)
def notify_urge(event: Event) -> None:
    """An urge reaches every school account, in its language; once per event (a unique key)."""
    urge = (
        Urge.objects.select_related("cycle__authority", "campaign__authority", "school")
        .filter(pk=event.subject_id)
        .first()
    )
    if urge is None:
        return
    ctx = {
        "authority": (urge.cycle or urge.campaign).authority.name,
        "school": urge.school.name,
        "respond_by": urge.respond_by,
        "message": urge.message,
    }
    event_school_notify_rendered(event=event, kind=NotificationKind.URGE, ctx=ctx)


@handles(EventType.URGE_RESPONDED)
def notify_urge_answered(event: Event) -> None:
    """The bureau hears that a school answered: the urge's author and the supervisors and inspectors of
    the school's nearest authority, each once, in their language."""
    urge = Urge.objects.select_related("school").filter(pk=event.subject_id).first()
    if urge is None:
        return
    recipients = []
    if urge.created_by_id is not None:
        recipients.append((urge.created_by_id, account_language(urge.created_by_id)))
    authority = nearest_authorities([urge.school_id]).get(urge.school_id)
    if authority is not None:
        for role in (Role.SUPERVISOR, Role.INSPECTOR):
            recipients += unit_members([authority], role)[authority]
    ctx = {"school": urge.school.name, "created_at": urge.created_at, "response": urge.response}
    event_notify_rendered(event=event, kind=NotificationKind.URGE_ANSWERED, ctx=ctx, recipients=recipients)
