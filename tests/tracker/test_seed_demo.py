from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from tracker import models as m
from tracker.audit.events import events_verify
from tracker.demo.catalogue import CATEGORIES
from tracker.inspections.selectors import inspection_stats
from tracker.integrity.selectors import register_summaries
from tracker.monitoring.sweep import sweep_run

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Seeded:
    printed: str  # what `seed_demo` wrote
    at: datetime  # when it had finished


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Iterator[Seeded]:
    """The demo district, seeded once for the tests that read it (a seed takes 40 s or more): once per
    xdist worker that runs any of them, since a worker runs a module's tests one after the other.

    The seed stays uncommitted in a transaction held open across the module and rolled back at its
    end; each test (pytest-django's django_db) runs in a savepoint inside it and rolls back what it
    wrote, so every test sees the seed exactly as `seed_demo` left it, as when each seeded its own.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        out = StringIO()
        call_command("seed_demo", stdout=out, stderr=StringIO())
        with django_db_blocker.block():
            yield Seeded(printed=out.getvalue(), at=timezone.now())
        transaction.set_rollback(True)


def test_seed_demo_builds_the_seed_district_with_a_mixed_history(seeded):
    assert m.Unit.objects.filter(kind=m.UnitKind.SCHOOL).count() == 17
    assert m.Criterion.objects.count() == 19
    assert len(CATEGORIES) == 5
    assert set(m.Criterion.objects.values_list("category", flat=True)) == set(CATEGORIES)
    assert m.Task.objects.filter(kind=m.TaskKind.ASSESSMENT).count() == 17 * 19
    statuses = set(m.Task.objects.values_list("status", flat=True))
    assert {m.TaskStatus.APPROVED, m.TaskStatus.NOT_STARTED, m.TaskStatus.IN_PROGRESS} <= statuses
    assert m.Evidence.objects.exists()
    assert m.Event.objects.filter(type="task.returned").exists()
    # some schools ahead (everything past due approved), some behind (several tasks still open)
    approved = {
        s: m.Task.objects.filter(school=s, status=m.TaskStatus.APPROVED).count()
        for s in m.Unit.objects.filter(kind=m.UnitKind.SCHOOL)
    }
    assert max(approved.values()) - min(approved.values()) >= 8
    assert events_verify().ok
    # imported history: chained, but nothing queued for handlers
    assert not m.EventDispatch.objects.exists()
    printed = seeded.printed
    assert "bureau" in printed and "jjz" in printed and "school17" in printed


def test_seed_demo_adds_the_integrity_programme_of_the_seed(seeded):
    # The province's two lists, inherited by the bureau's schools.
    province = m.Unit.objects.get(code="ZJ-EDU")
    assert m.Unit.objects.get(code="PT-EDU").parent == province
    lists = dict(m.ListItem.objects.filter(unit=province).values_list("list").annotate(n=Count("id")))
    assert lists["micro_power"] >= 25 and lists["negative"] >= 10
    # The seed's school: 25 power items, 47 risk points, 20 high-risk points with process maps.
    school = m.Unit.objects.get(code="PT-S01")
    year = timezone.localdate().year
    summary = register_summaries(school_ids=[school.pk], year=year)[school.pk]
    assert (summary["items"], summary["risk_points"], summary["by_level"]["high"]) == (25, 47, 20)
    assert summary["high_with_process_map"] == 20 and summary["status"] == "approved"
    # The other schools at every stage of the review.
    statuses = set(m.Register.objects.values_list("status", flat=True))
    assert statuses == {"draft", "submitted", "returned", "approved"}
    assert m.Unit.objects.filter(kind="school").exclude(registers__isnull=False).exists()  # some have none yet
    # A finished campaign: every check recorded, findings rectified, some late, some still open.
    finished = m.Campaign.objects.get(due_at__lt=timezone.now())
    assert not m.Check.objects.filter(campaign=finished, result__isnull=True).exists()
    rectifications = m.Task.objects.filter(campaign=finished, kind=m.TaskKind.RECTIFICATION)
    assert rectifications.count() == m.Check.objects.filter(campaign=finished, result="finding").count() > 5
    approved = rectifications.filter(status=m.TaskStatus.APPROVED)
    assert approved.filter(submitted_at__lte=F("submitted_due_at")).exists()
    assert approved.filter(submitted_at__gt=F("submitted_due_at")).exists()  # closed late
    assert rectifications.exclude(status=m.TaskStatus.APPROVED).exists()
    # And one under way.
    current = m.Campaign.objects.get(due_at__gt=timezone.now())
    assert m.Check.objects.filter(campaign=current, result__isnull=True).exists()
    assert m.Check.objects.filter(campaign=current, result="ok").exists()


def test_seed_demo_has_extension_requests_and_appeals_decided_and_pending(seeded):
    requests = m.ExtensionRequest.objects.all()
    assert set(requests.values_list("status", flat=True)) == {"approved", "rejected", "pending"}
    assert requests.filter(status="pending", late_request=True).exists()
    approved = requests.get(status="approved")
    assert (approved.task.due_at, approved.task.extensions) == (approved.decision_due_at, 1)
    assert approved.task.original_due_at < approved.task.due_at
    amended = m.Appeal.objects.get(status="amended")
    assert amended.score_after == amended.task.score
    withdrawn = m.DeductionEntry.objects.get(task=amended.task, source="appeal")
    assert (withdrawn.action, withdrawn.code, withdrawn.appeal) == ("withdrawn", amended.contested[0], amended)
    assert events_verify().ok


def test_seed_demo_refuses_a_second_run_unless_if_empty(seeded):
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "already seeded" in out.getvalue()
    assert m.Unit.objects.filter(kind=m.UnitKind.SCHOOL).count() == 17


def test_seeded_history_stamps_each_task_with_its_latest_event(seeded):
    # The history went through the services: each task's last activity is the time of its latest event.
    tasks = m.Task.objects.annotate(latest=Max("events__occurred_at"))
    assert tasks.filter(latest__isnull=False).count() > 100
    mismatched = tasks.filter(
        Q(last_activity_at__isnull=True, latest__isnull=False)
        | Q(last_activity_at__isnull=False, latest__isnull=True)
        | Q(last_activity_at__lt=F("latest"))
        | Q(last_activity_at__gt=F("latest"))
    )
    assert not mismatched.exists()


def test_the_seeded_year_has_flags_urges_snapshots_and_no_old_unread_reminders(seeded):
    now = seeded.at

    # the sweeps of the year opened flags when schools fell behind; some caught up since
    assert m.Flag.objects.filter(resolved_at__isnull=True).exists()
    assert m.Flag.objects.filter(resolved_at__isnull=False).exists()
    assert m.Flag.objects.filter(opened_at__lt=now - timedelta(days=30)).exists()
    # the bureau urged (answered in time, late and never) ...
    urges = m.Urge.objects.all()
    assert urges.filter(responded_at__lte=F("respond_by")).exists()
    assert urges.filter(responded_at__gt=F("respond_by")).exists()
    assert urges.filter(responded_at__isnull=True, respond_by__lt=now).exists()
    # ... and left some flags unurged
    urged_schools = set(urges.values_list("school_id", flat=True))
    assert set(m.Flag.objects.values_list("school_id", flat=True)) - urged_schools
    # a daily snapshot of every school for the trend chart's 90 days (and more)
    days = m.DailySnapshot.objects.values("date").distinct().count()
    assert days >= 90
    assert m.DailySnapshot.objects.count() == days * 17
    assert m.DailySnapshot.objects.filter(date=timezone.localdate(now)).count() == 17
    # the past's reminders were sent then and read since: only the last days' are unread
    assert m.Notification.objects.filter(created_at__lt=now - timedelta(days=30)).exists()
    assert not m.Notification.objects.filter(read_at__isnull=True, created_at__lt=now - timedelta(days=3)).exists()
    assert m.Notification.objects.filter(read_at__isnull=True).exists()
    bureau_unread = m.Notification.objects.filter(recipient__username="bureau", read_at__isnull=True).count()
    assert bureau_unread < 40
    # a sweep right after the seed finds the year already judged: no burst of reminders
    report = sweep_run(now=seeded.at)
    assert report.flags_opened == 0 and report.reminders < 20


def test_seed_demo_has_the_seeds_2020_rounds_and_one_published_case(seeded):
    bureau = m.Unit.objects.get(code="PT-EDU")
    stats = inspection_stats(authority_ids={bureau.pk}, authority_id=bureau.pk, year=2020)
    assert (stats.rounds, stats.person_visits) == (13, 44)  # SEED.md fact 5
    assert stats.rounds_by_kind["announced"] > 0 and stats.rounds_by_kind["unannounced"] > 0
    assert stats.targets_by_kind["neighbourhood"] > 0 and stats.targets_by_kind["tutoring_centre"] > 0
    assert set(m.Case.objects.values_list("status", flat=True)) == {"reported", "investigating", "concluded"}
    notice = m.Notice.objects.get()
    assert notice.case.status == "concluded"
    assert "王某" in notice.summary and "王建国" not in notice.summary + notice.disposition
    assert m.Case.objects.filter(status="concluded", notice__isnull=True).exists()  # concluded, not published
    assert events_verify().ok
