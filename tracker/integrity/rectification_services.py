"""A rectification: a problem a school must put right by a deadline, as a task (kind `rectification`)
of an integrity campaign. From then on it is the task machine's: the same transitions (evidence to
submit, a supervisor's approval to close), overdue rule, reminders, flags, urges and events.

`rectification_create` is the one way in, for a self-inspection finding (tracker.integrity.check_services)
and for a case (the inspections context, `POST /cases/{id}/rectify/`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.assessment.models import Task, TaskKind, TaskStatus
from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidState, ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.tree import ancestor_ids, nearest_authorities

from .campaign_services import cases_campaign
from .models import Campaign, CampaignStatus
from .rules import register_year

TITLE_LENGTH = 80


def rectification_check(*, description: str, rectify_by: datetime | None, now: datetime) -> None:
    """The body's rules (400), judged before any state (409)."""
    if not description or not description.strip():
        raise ValidationFailed(_("Describe the problem to put right."), field="description")
    if rectify_by is None:
        raise ValidationFailed(_("Set the deadline to put it right."), field="rectify_by")
    if rectify_by <= now:
        raise ValidationFailed(_("The deadline to put it right must be in the future."), field="rectify_by")


@transaction.atomic
def rectification_create(
    *,
    actor: Actor,
    school: Unit,
    campaign: Campaign | None,
    description: str,
    rectify_by: datetime | None,
    source: models.Model | None = None,
    title: str = "",
    now: datetime | None = None,
) -> Task:
    """A rectification task for `school`, due `rectify_by`, in `campaign` or, without one, in the
    school's nearest authority's "<year> case rectifications" campaign (made on first use).

    400: no description, no or a past deadline, a school not under the campaign's authority;
    409: the campaign is not active.
    """
    now = now or timezone.now()
    rectification_check(description=description, rectify_by=rectify_by, now=now)
    if school.kind != UnitKind.SCHOOL:
        raise ValidationFailed(_("A rectification is a school's."), field="school")
    if campaign is None:
        authority_id = nearest_authorities([school.pk])[school.pk]
        if authority_id is None:
            raise ValidationFailed(_("The school has no authority to hold its rectifications."), field="school")
        campaign = cases_campaign(authority=Unit.objects.get(pk=authority_id), year=register_year(now), now=now)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.authority_id not in ancestor_ids([school.pk], include_self=False):
        raise ValidationFailed(_("Choose a school under this campaign's authority."), field="school")
    if campaign.status != CampaignStatus.ACTIVE:
        raise InvalidState(_("Rectifications are ordered only in an active campaign."), status=campaign.status)
    task = Task.objects.create(
        kind=TaskKind.RECTIFICATION,
        campaign=campaign,
        school=school,
        title=(title.strip() or description.strip())[:TITLE_LENGTH],
        requirement=description.strip(),
        status=TaskStatus.NOT_STARTED,
        due_at=rectify_by,
        # The deadline set at the finding: the original one (extensions never move it) and its start.
        original_due_at=rectify_by,
        due_set_at=now,
        # Its creation is the first thing that happened to it (and the first event of its history).
        last_activity_at=now,
    )
    event_record(
        type=EventType.RECTIFICATION_CREATED,
        subject=task,
        actor=actor,
        school=school,
        task=task,
        now=now,
        data={
            "campaign": campaign.pk,
            "title": task.title,
            "description": task.requirement,
            "rectify_by": rectify_by,
            "source": [source._meta.model_name, source.pk] if source is not None else None,
        },
    )
    return task
