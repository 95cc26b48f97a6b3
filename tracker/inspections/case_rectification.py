"""From a case to a rectification (CONTRACT section 9, `POST /api/v1/cases/{id}/rectify/`).

A case with a school can order that school a rectification task: the integrity programme's task kind
(tracker.integrity.rectification_services), in the campaign named or the authority's "<year> case
rectifications" campaign. The school reads the task, never the case: the task's title and requirement
are the description with every person of the case redacted to surname + 某, checked to hold no full
name before anything is written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.assessment.models import Task
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidState, ValidationFailed
from tracker.integrity.models import Campaign
from tracker.integrity.rectification_services import rectification_check, rectification_create

from .case_services import case_event_record
from .checks import actor_or_none
from .models import Case, CaseRectification
from .redaction import names_found, text_redact


@transaction.atomic
def case_rectify(
    *,
    actor: Actor,
    case: Case,
    description: str,
    rectify_by: datetime | None,
    campaign: Campaign | None = None,
    now: datetime | None = None,
) -> Task:
    """A rectification task for the case's school, due `rectify_by`, linked to the case.

    400: no description, no or a past deadline, a campaign whose authority the school is not under;
    409: the case has no school, or the campaign is not active.
    """
    now = now or timezone.now()
    # The body first (400), before the case's state (409): rectification_create judges it again, later.
    rectification_check(description=description, rectify_by=rectify_by, now=now)
    case = Case.objects.select_for_update(of=("self",)).select_related("school").get(pk=case.pk)
    if case.school is None:
        raise InvalidState(_("Only a case about a school can order a rectification."), status=case.status)
    text = text_redact(description.strip(), case.persons)
    if names_found(text, case.persons):
        # Cannot happen by construction; refuse rather than hand a school a name.
        raise ValidationFailed(_("The description would still name a person."), field="description")
    task = rectification_create(
        actor=actor,
        school=case.school,
        campaign=campaign,
        description=text,
        rectify_by=rectify_by,
        source=case,
        now=now,
    )
    CaseRectification.objects.create(case=case, task=task, ordered_by=actor_or_none(actor), ordered_at=now)
    case_event_record(case, type=EventType.CASE_RECTIFICATION_ORDERED, actor=actor, now=now, data={"task": task.pk})
    return task
