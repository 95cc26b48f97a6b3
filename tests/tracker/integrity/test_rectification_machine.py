"""A rectification is a task: the sweep reminds, flags (per campaign) and escalates it exactly like an
assessment task, supervisors urge and oversee it per campaign, it needs evidence to submit and a
supervisor's approval to close, and it carries no score. The campaign's own deadline reminds and flags
the schools whose checklist is unfinished. None of it has code of its own for rectifications."""

from __future__ import annotations

import io

import pytest

from tests.factories import EvidenceFactory
from tests.integrity_support import CAMPAIGN_DUE, NOW, D
from tests.samples import pdf_bytes
from tracker import models as m
from tracker.assessment.appeal_services import appeal_create
from tracker.assessment.evidence_services import evidence_add
from tracker.assessment.extension_services import extension_request_create, extension_request_decide
from tracker.assessment.task_services import task_approve, task_return, task_submit
from tracker.audit.dispatch import event_handle
from tracker.audit.selectors import task_history
from tracker.errors import EvidenceRequired, InvalidTransition, ValidationFailed
from tracker.integrity.campaign_services import campaign_close
from tracker.integrity.check_services import check_record
from tracker.monitoring.services import urge_create
from tracker.monitoring.sweep import sweep_run
from tracker.reporting.oversight import oversight_report

pytestmark = pytest.mark.django_db
H = D / 24
RECTIFY_BY = NOW + 10 * D


def handle_all_events() -> None:
    for dispatch in m.EventDispatch.objects.filter(done_at__isnull=True).order_by("event_id"):
        event_handle(event_id=dispatch.event_id)


def finding(integrity, campaign, *, school=None, user=None, code="M01", rectify_by=RECTIFY_BY) -> m.Task:
    d = integrity.d
    check = m.Check.objects.get(campaign=campaign, school=school or d.school_a, item__code=code)
    check = check_record(
        actor=user or d.school_a_user,
        check=check,
        result="finding",
        finding={"description": f"{code} 存在问题", "rectify_by": rectify_by},
        now=NOW,
    )
    return check.task


def finish_checklist(integrity, campaign, *, school=None, user=None, now=NOW) -> None:
    d = integrity.d
    for check in m.Check.objects.filter(campaign=campaign, school=school or d.school_a, result__isnull=True):
        check_record(actor=user or d.school_a_user, check=check, result="ok", now=now)


def reminders(task: m.Task) -> list[tuple[str, int]]:
    return sorted(m.Reminder.objects.filter(task=task).values_list("kind", "stage"))


def recipients(task: m.Task, kind: str) -> set[int]:
    return set(m.Notification.objects.filter(task=task, kind=kind).values_list("recipient_id", flat=True))


# --- the task workflow ----------------------------------------------------------------------------------
def test_a_rectification_needs_evidence_to_submit_and_approval_to_close_and_carries_no_score(integrity):
    d = integrity.d
    task = finding(integrity, integrity.campaign())
    with pytest.raises(EvidenceRequired) as refused:
        task_submit(task=task, actor=d.school_a_user, now=NOW + D)
    assert refused.value.extra == {"required": 1, "have": 0}

    report = pdf_bytes("整改报告")
    evidence_add(
        task=task, actor=d.school_a_user, file=io.BytesIO(report), filename="整改报告.pdf", size=len(report), now=NOW
    )
    task_submit(task=task, actor=d.school_a_user, now=NOW + D)
    task_return(task=task, actor=d.supervisor, reason="整改材料不全", now=NOW + 2 * D)
    task_submit(task=task, actor=d.school_a_user, now=NOW + 3 * D)
    with pytest.raises(ValidationFailed):
        task_approve(task=task, actor=d.supervisor, deductions=["D1"], now=NOW + 4 * D)
    task = task_approve(task=task, actor=d.supervisor, deductions=[], comment="整改到位", now=NOW + 4 * D)

    assert (task.status, task.score, task.late_penalty, task.reviewed_by) == ("approved", None, None, d.supervisor)
    assert [e.type for e in task_history(task)] == [
        "rectification.created",
        "check.recorded",
        "evidence.uploaded",
        "task.submitted",
        "task.returned",
        "task.submitted",
        "task.approved",
    ]
    d.school_a_user.memberships.update(language="en")
    handle_all_events()
    titles = set(m.Notification.objects.filter(task=task).values_list("kind", "title"))
    assert titles == {
        ("returned", "M01 招生录取: returned for rework"),
        ("approved", "M01 招生录取: rectification approved"),  # no score to tell
    }


def test_a_rectification_takes_extension_requests_like_any_task_but_has_no_score_to_appeal(integrity):
    d = integrity.d
    task = finding(integrity, integrity.campaign())
    asked = extension_request_create(
        task=task, actor=d.school_a_user, requested_due_at=RECTIFY_BY + 5 * D, reason="整改需采购设备", now=NOW + D
    )
    extension_request_decide(request=asked, actor=d.supervisor, decision="approve", comment="同意", now=NOW + 2 * D)
    task.refresh_from_db()
    assert (task.due_at, task.original_due_at, task.extensions) == (RECTIFY_BY + 5 * D, RECTIFY_BY, 1)

    report = pdf_bytes("整改报告")
    evidence_add(
        task=task, actor=d.school_a_user, file=io.BytesIO(report), filename="整改报告.pdf", size=len(report), now=NOW
    )
    task_submit(task=task, actor=d.school_a_user, now=NOW + 3 * D)
    task_approve(task=task, actor=d.supervisor, deductions=[], now=NOW + 4 * D)
    with pytest.raises(InvalidTransition):
        appeal_create(task=task, actor=d.school_a_user, reason="不服", contested=["late_penalty"], now=NOW + 5 * D)
    assert not m.Appeal.objects.filter(task=task).exists()


# --- reminders --------------------------------------------------------------------------------------------
def test_the_sweep_reminds_a_rectification_at_the_same_stages_as_any_task_once_each(integrity):
    d = integrity.d
    task = finding(integrity, integrity.campaign())

    sweep_run(now=RECTIFY_BY - 7 * D + H)
    sweep_run(now=RECTIFY_BY - 7 * D + 2 * H)
    # Early warning (section 7) too: progress 0 with 31% of its time gone trails by more than the margin.
    assert reminders(task) == [("at_risk", 0), ("due_soon", -7)]
    sweep_run(now=RECTIFY_BY + H)
    sweep_run(now=RECTIFY_BY + 7 * D + H)
    sweep_run(now=RECTIFY_BY + 7 * D + 2 * H)

    assert reminders(task) == [("at_risk", 0), ("due_soon", -7), ("escalation", 7), ("overdue", 0), ("overdue", 6)]
    assert recipients(task, "due_soon") == recipients(task, "overdue") == {d.school_a_user.pk}
    assert recipients(task, "escalation") == {d.supervisor.pk}
    title = m.Notification.objects.filter(task=task, kind="overdue").first().title
    assert title.startswith("M01 招生录取")  # the rectification's own title where a criterion's would be


def test_a_closed_campaigns_rectifications_are_no_longer_chased(integrity):
    campaign = integrity.campaign()
    task = finding(integrity, campaign)
    campaign_close(actor=integrity.d.supervisor, campaign=campaign, now=NOW + D)

    sweep_run(now=RECTIFY_BY + 8 * D)

    assert reminders(task) == []
    assert not m.Flag.objects.filter(campaign=campaign).exists()


# --- flags ------------------------------------------------------------------------------------------------
def test_an_overdue_rectification_flags_the_school_in_its_campaign_and_the_flag_resolves_on_submit(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    task = finding(integrity, campaign)
    finish_checklist(integrity, campaign)  # only the rectification holds the school back

    sweep_run(now=RECTIFY_BY + H)
    flag = m.Flag.objects.get(school=d.school_a, resolved_at__isnull=True)
    assert (flag.campaign, flag.cycle, flag.severity, flag.overdue_count) == (campaign, None, "warning", 1)
    sweep_run(now=RECTIFY_BY + 7 * D + H)
    flag.refresh_from_db()
    assert (flag.severity, flag.escalated_at) == ("critical", RECTIFY_BY + 7 * D + H)
    assert set(m.Reminder.objects.filter(flag=flag).values_list("kind", flat=True)) == {"flag_opened", "flag_critical"}
    opened = m.Event.objects.get(type="flag.opened", subject_id=str(flag.pk))
    assert (opened.cycle, opened.data["campaign"]) == (None, campaign.pk)

    EvidenceFactory(task=task)
    task_submit(task=task, actor=d.school_a_user, now=RECTIFY_BY + 8 * D)
    handle_all_events()  # the task's event re-judges the school in the task's campaign
    flag.refresh_from_db()
    assert flag.resolved_at is not None


def test_an_unfinished_checklist_past_the_campaign_deadline_is_reminded_and_flagged(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    checklist = m.Checklist.objects.get(campaign=campaign, school=d.school_b)
    first = m.Check.objects.filter(campaign=campaign, school=d.school_b).order_by("id").first()
    check_record(actor=d.school_b_user, check=first, result="ok", now=NOW)

    sweep_run(now=CAMPAIGN_DUE - 7 * D + H)
    sweep_run(now=CAMPAIGN_DUE + H)
    sweep_run(now=CAMPAIGN_DUE + 7 * D + H)
    kinds = sorted(m.Reminder.objects.filter(checklist=checklist).values_list("kind", "stage"))
    assert kinds == [("due_soon", -7), ("escalation", 7), ("overdue", 0), ("overdue", 6)]
    overdue = m.Notification.objects.filter(reminder__checklist=checklist, reminder__stage=0).get()
    assert overdue.recipient == d.school_b_user and overdue.task is None
    assert "2026 自查自纠" in overdue.title and "2" in overdue.title  # two of its three items unchecked
    escalation = m.Notification.objects.get(reminder__checklist=checklist, kind="escalation")
    assert escalation.recipient == d.supervisor

    flag = m.Flag.objects.get(campaign=campaign, school=d.school_b, resolved_at__isnull=True)
    assert (flag.overdue_count, flag.max_days_overdue, flag.severity) == (1, 7, "critical")
    # Recording the last checks closes the checklist; the check event re-judges the school.
    finish_checklist(integrity, campaign, school=d.school_b, user=d.school_b_user, now=CAMPAIGN_DUE + 8 * D)
    handle_all_events()
    flag.refresh_from_db()
    assert flag.resolved_at is not None


def test_a_school_behind_in_a_cycle_and_in_a_campaign_has_one_open_flag_in_each(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    after_both = d.criterion.due_at + D  # the cycle's task and the campaign's checklist are both overdue

    sweep_run(now=after_both)

    flags = m.Flag.objects.filter(school=d.school_a, resolved_at__isnull=True)
    assert sorted((f.cycle_id or 0, f.campaign_id or 0) for f in flags) == [(0, campaign.pk), (d.cycle.pk, 0)]
    assert sweep_run(now=after_both + H).flags_opened == 0


# --- urges and oversight --------------------------------------------------------------------------------
def test_a_supervisor_urges_a_school_in_a_campaign_and_the_inspector_oversees_it(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    finding(integrity, campaign)
    finish_checklist(integrity, campaign)
    finish_checklist(integrity, campaign, school=d.school_b, user=d.school_b_user)
    sweep_run(now=RECTIFY_BY + H)
    with pytest.raises(ValidationFailed):
        urge_create(
            actor=d.supervisor,
            cycle=d.cycle,
            campaign=campaign,
            school=d.school_a,
            message="x",
            respond_by=RECTIFY_BY + 3 * D,
            now=RECTIFY_BY + 2 * H,
        )
    urge = urge_create(
        actor=d.supervisor,
        campaign=campaign,
        school=d.school_a,
        message="请尽快完成整改",
        respond_by=RECTIFY_BY + 3 * D,
        now=RECTIFY_BY + 5 * H,
    )
    assert (urge.cycle, urge.campaign) == (None, campaign)
    handle_all_events()
    assert m.Notification.objects.filter(kind="urge", recipient=d.school_a_user).exists()

    report = oversight_report(cycle=campaign, roots=[d.bureau.pk], now=RECTIFY_BY + D)
    assert report["campaign"] == campaign.pk and "cycle" not in report
    (row,) = report["flags"]
    assert (row["school"]["id"], row["urge"], row["hours_to_urge"]) == (d.school_a.pk, urge.pk, 4.0)
    assert report["totals"]["urged_within_sla"] == 1
    # The cycle's oversight knows nothing of it.
    cycle_report = oversight_report(cycle=d.cycle, roots=[d.bureau.pk], now=RECTIFY_BY + D)
    assert row["id"] not in {r["id"] for r in cycle_report["flags"]}
    assert urge.pk not in {r["urge"] for r in cycle_report["flags"]}

    sweep_run(now=RECTIFY_BY + 4 * D)
    assert m.Reminder.objects.filter(urge=urge, kind="urge_overdue").count() == 1
