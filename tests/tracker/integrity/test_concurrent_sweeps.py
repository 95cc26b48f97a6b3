"""Rectification and checklist reminders are sent exactly once however many sweeps run at once
(PostgreSQL: the reminders' unique keys, not luck)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.concurrency import at_once
from tests.factories import MembershipFactory, SchoolFactory
from tests.integrity_support import NOW, D
from tracker import models as m
from tracker.integrity.campaign_services import campaign_activate
from tracker.integrity.check_services import check_record
from tracker.monitoring.sweep import sweep_run

RECTIFY_BY = NOW + 10 * D


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL (the suite's database)")
def test_four_concurrent_sweeps_remind_each_rectification_and_checklist_once(integrity):
    d = integrity.d
    for _ in range(5):
        MembershipFactory(unit=SchoolFactory(parent=d.bureau), role=m.Role.SCHOOL)
    campaign = integrity.campaign(activate=False)
    campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW)
    # Every school finds a problem in M01 and M02 and leaves the rest of its checklist open.
    for check in m.Check.objects.filter(campaign=campaign, item__code__in=["M01", "M02"]).select_related("school"):
        user = m.Membership.objects.filter(unit=check.school, role="school").first().user
        check_record(
            actor=user,
            check=check,
            result="finding",
            finding={"description": "待整改", "rectify_by": RECTIFY_BY},
            now=NOW,
        )
    rectifications = m.Task.objects.filter(kind="rectification").count()
    checklists = m.Checklist.objects.filter(campaign=campaign).count()
    assert (rectifications, checklists) == (14, 7)

    now = campaign.due_at + 8 * D  # every rectification and every checklist 7+ days overdue
    reports, errors = at_once(*[lambda: sweep_run(now=now, batch_size=3)] * 4)

    assert errors == []
    per_deadline = 2  # the latest overdue stage and the escalation
    on_tasks = m.Reminder.objects.filter(task__kind="rectification")
    on_checklists = m.Reminder.objects.filter(checklist__campaign=campaign)
    assert on_tasks.count() == per_deadline * rectifications
    assert on_checklists.count() == per_deadline * checklists
    assert m.Flag.objects.filter(campaign=campaign, resolved_at__isnull=True).count() == checklists
    assert m.Event.objects.filter(type="flag.opened", data__campaign=campaign.pk).count() == checklists
    # Cycle tasks are not due yet: every reminder of this sweep is the campaign's.
    assert sum(r.reminders for r in reports) == m.Reminder.objects.count()
    for reminder in m.Reminder.objects.all():
        recipients = list(reminder.notifications.values_list("recipient_id", flat=True))
        assert len(recipients) == len(set(recipients))
