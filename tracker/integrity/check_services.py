"""A school records one check of a campaign: `ok`, or a `finding` that becomes a rectification task.

A result is recorded once (409 after that). The school's checklist row is locked while a check is
recorded, so concurrent recordings of one school take turns and the last one closes the checklist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import CheckRecorded, InvalidState, ValidationFailed

from .models import CampaignStatus, Check, Checklist, CheckResult
from .rectification_services import rectification_check, rectification_create


def _check_body(*, result: str, finding: dict[str, Any] | None, now: datetime) -> None:
    if result not in CheckResult.values:
        raise ValidationFailed(_("The result is ok or finding."), field="result")
    if result == CheckResult.FINDING:
        if not finding:
            needs = _("A finding needs its description and the deadline to put it right.")
            raise ValidationFailed(needs, field="finding")
        rectification_check(description=finding.get("description", ""), rectify_by=finding.get("rectify_by"), now=now)
    elif finding:
        raise ValidationFailed(_("Only a finding carries the details of a finding."), field="finding")


@transaction.atomic
def check_record(
    *,
    actor: Actor,
    check: Check | int,
    result: str,
    note: str = "",
    finding: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Check:
    now = now or timezone.now()
    _check_body(result=result, finding=finding, now=now)  # a bad body is a 400 before a wrong state a 409
    pk = check if isinstance(check, int) else check.pk
    campaign_id, school_id = Check.objects.values_list("campaign_id", "school_id").get(pk=pk)
    checklist = Checklist.objects.select_for_update().get(campaign_id=campaign_id, school_id=school_id)
    check = Check.objects.select_for_update(of=("self",)).select_related("campaign", "school", "item").get(pk=pk)
    if check.result is not None:
        raise CheckRecorded(
            _("This check was recorded on %(day)s; a result is recorded once.")
            % {"day": f"{timezone.localtime(check.checked_at):%Y-%m-%d}"},
            status=check.result,
        )
    if check.campaign.status != CampaignStatus.ACTIVE:
        closed = _("The campaign is closed: its checks can no longer be recorded.")
        raise InvalidState(closed, status=check.campaign.status)
    check.result, check.note, check.checked_at, check.checked_by = result, note, now, actor
    fields = ["result", "note", "checked_at", "checked_by"]
    if result == CheckResult.FINDING:
        assert finding is not None
        check.finding, check.rectify_by = finding["description"].strip(), finding["rectify_by"]
        check.task = rectification_create(
            actor=actor,
            school=check.school,
            campaign=check.campaign,
            description=check.finding,
            rectify_by=check.rectify_by,
            source=check,
            title=f"{check.item.code} {check.item.title}",
            now=now,
        )
        fields += ["finding", "rectify_by", "task"]
    check.save(update_fields=fields)
    event_record(
        type=EventType.CHECK_RECORDED,
        subject=check,
        actor=actor,
        school=check.school,
        task=check.task,
        now=now,
        data={
            "campaign": check.campaign_id,
            "item": check.item_id,
            "result": result,
            "note": note,
            "finding": check.finding or None,
            "rectify_by": check.rectify_by,
        },
    )
    if not Check.objects.filter(campaign_id=check.campaign_id, school_id=check.school_id, result__isnull=True).exists():
        checklist.completed_at = now
        checklist.save(update_fields=["completed_at"])
    return check
