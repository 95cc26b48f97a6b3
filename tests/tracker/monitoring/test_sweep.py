"""The sweep as a whole: idempotent, exactly once under concurrency, constant queries, one e-mail
digest per recipient per sweep in the recipient's language, and `manage.py sweep`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.concurrency import at_once
from tests.factories import MembershipFactory, SchoolFactory, criteria_add
from tracker import models as m
from tracker.assessment.cycle_services import cycle_activate
from tracker.audit.events import events_verify
from tracker.monitoring.sweep import sweep_run

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
D = timedelta(days=1)


def grow(district, *, schools: int, criteria: int) -> None:
    """Add schools (one school account each) and criteria (due at DUE) to the district's cycle."""
    for _ in range(schools):
        school = SchoolFactory(parent=district.bureau)
        MembershipFactory(unit=school, role=m.Role.SCHOOL)
    cycle_activate(actor=district.supervisor, cycle=district.cycle, now=DUE - 100 * D)
    criteria_add(district, [DUE] * criteria, prefix="S")


def statements(ctx: CaptureQueriesContext) -> int:
    """Queries run; on SQLite a bulk INSERT ... VALUES is cut into chunks by its parameter limit, so
    there only the statements that are not such chunks are compared."""
    queries = [q["sql"] for q in ctx.captured_queries]
    if connection.vendor == "sqlite":
        queries = [q for q in queries if not (q.startswith("INSERT") and " VALUES " in q)]
    return len(queries)


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_tasks(district):
    grow(district, schools=2, criteria=2)
    with CaptureQueriesContext(connection) as small:
        small_report = sweep_run(now=DUE + 10 * D)

    grow(district, schools=10, criteria=6)
    m.Reminder.objects.all().delete()
    m.Notification.objects.all().delete()
    m.Flag.objects.all().delete()
    with CaptureQueriesContext(connection) as large:
        large_report = sweep_run(now=DUE + 10 * D)

    assert large_report.reminders > 5 * small_report.reminders
    assert statements(large) == statements(small)


@pytest.mark.django_db
def test_refreshing_every_open_flag_a_day_later_costs_the_same_queries(district):
    def next_day_queries(day: int) -> int:
        sweep_run(now=DUE + day * D)
        with CaptureQueriesContext(connection) as ctx:
            sweep_run(now=DUE + (day + 1) * D)
        return statements(ctx)

    small = next_day_queries(4)
    grow(district, schools=8, criteria=0)
    for model in (m.Notification, m.Reminder, m.Flag):
        model.objects.all().delete()
    large = next_day_queries(4)

    assert m.Flag.objects.filter(resolved_at__isnull=True, max_days_overdue=5).count() == 11
    assert large == small


@pytest.mark.django_db
def test_batches_by_task_id_find_every_reminder(district):
    grow(district, schools=3, criteria=3)
    tasks = m.Task.objects.filter(cycle__status="active").count()

    report = sweep_run(now=DUE + 4 * D, batch_size=2)

    assert m.Reminder.objects.filter(kind="overdue", stage=3).count() == tasks
    assert report.reminders == m.Reminder.objects.count()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL (the suite's database)")
def test_four_concurrent_sweeps_send_each_reminder_once(district):
    grow(district, schools=6, criteria=4)
    for user in m.Membership.objects.values_list("user_id", flat=True):
        m.Membership.objects.filter(user_id=user).first().user.__class__.objects.filter(pk=user).update(
            email=f"u{user}@example.org"
        )
    now = DUE + 10 * D

    reports, errors = at_once(*[lambda: sweep_run(now=now, batch_size=7)] * 4)

    assert errors == []
    tasks = m.Task.objects.filter(cycle__status="active").count()
    schools = m.Task.objects.filter(cycle__status="active").values("school").distinct().count()
    expected = 2 * tasks + 2 * schools  # overdue + escalation per task, flag_opened + flag_critical per school
    assert m.Reminder.objects.count() == expected
    assert sum(r.reminders for r in reports) == expected
    assert sum(r.flag_changes for r in reports) == schools
    assert m.Event.objects.filter(type="flag.opened").count() == schools
    for reminder in m.Reminder.objects.all():
        recipients = list(reminder.notifications.values_list("recipient_id", flat=True))
        assert len(recipients) == len(set(recipients))
    # one digest per recipient across the four sweeps
    to = [message.to[0] for message in mail.outbox]
    assert len(to) == len(set(to)) == m.Notification.objects.values("recipient").distinct().count()
    assert events_verify().ok


# --- E-mail digests -------------------------------------------------------------------------------
class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise OSError("SMTP server unreachable")


@pytest.fixture
def mailed(district):
    for user, language in [
        (district.school_a_user, "en"),
        (district.school_b_user, ""),
        (district.supervisor, "zh-hans"),
    ]:
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
        user.memberships.update(language=language)
    return district


@pytest.mark.django_db
def test_one_digest_per_recipient_per_sweep_in_their_language(mailed):
    d = mailed

    report = sweep_run(now=DUE + 8 * D)

    by_to = {message.to[0]: message for message in mail.outbox}
    assert report.emails == len(mail.outbox) == 3
    assert set(by_to) == {f"{u.username}@example.org" for u in (d.school_a_user, d.school_b_user, d.supervisor)}
    english = by_to[f"{d.school_a_user.username}@example.org"]
    assert english.subject == "Qinglian: 3 new notification(s)"
    assert "day(s) overdue" in english.body
    chinese = by_to[f"{d.school_b_user.username}@example.org"]  # no language: the site's (zh-hans)
    assert chinese.subject == "清廉:3条新通知"
    assert "已逾期8天" in chinese.body
    supervisor = by_to[f"{d.supervisor.username}@example.org"]
    assert supervisor.subject == "清廉:6条新通知"  # 2 escalations + 2 x 2 flag reminders
    assert not m.Notification.objects.filter(emailed_at__isnull=True, recipient__email__gt="").exists()


@pytest.mark.django_db
def test_a_sweep_with_nothing_new_sends_no_mail_and_a_later_one_only_the_news(mailed):
    sweep_run(now=DUE + 8 * D)
    mail.outbox.clear()

    sweep_run(now=DUE + 8 * D + timedelta(hours=1))
    assert mail.outbox == []

    sweep_run(now=DUE + 9 * D)  # overdue stage 9
    assert sorted(message.subject for message in mail.outbox) == ["Qinglian: 1 new notification(s)", "清廉:1条新通知"]


@pytest.mark.django_db
def test_a_long_digest_lists_the_newest_and_counts_the_rest(mailed, settings):
    settings.TRACKER = {**settings.TRACKER, "DIGEST_MAX_ITEMS": 2}

    sweep_run(now=DUE + 8 * D)

    supervisor = next(msg for msg in mail.outbox if msg.to[0].startswith(mailed.supervisor.username))
    assert supervisor.body.count("\n- [") == 2
    assert "另有4条" in supervisor.body


@pytest.mark.django_db
def test_a_failed_mail_is_retried_by_the_next_sweep(mailed, settings):
    settings.EMAIL_BACKEND = "tests.tracker.monitoring.test_sweep.FailingBackend"
    report = sweep_run(now=DUE + 8 * D)
    assert report.emails == 0
    with_address = m.Notification.objects.filter(recipient__email__gt="")
    assert with_address.filter(emailed_at__isnull=True).count() == with_address.count() > 0

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    report = sweep_run(now=DUE + 8 * D + timedelta(minutes=15))

    assert report.emails == len(mail.outbox) == 3


@pytest.mark.django_db
def test_accounts_without_an_address_keep_their_inbox_but_get_no_mail(district):
    sweep_run(now=DUE + 8 * D)

    assert mail.outbox == []
    assert m.Notification.objects.filter(recipient=district.school_a_user).exists()


# --- manage.py sweep ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_command_reports_and_a_second_run_changes_nothing(district):
    first, second = StringIO(), StringIO()

    call_command("sweep", "--now", "2026-07-10T09:00+08:00", stdout=first)
    call_command("sweep", "--now", "2026-07-10T09:00+08:00", stdout=second)

    assert first.getvalue().strip() == "12 reminders, 3 flag changes"
    assert second.getvalue().strip() == "0 reminders, 0 flag changes"
    # what it records is stamped with that time
    stamp = datetime(2026, 7, 10, 1, 0, tzinfo=UTC)
    assert set(m.Reminder.objects.values_list("created_at", flat=True)) == {stamp}
    assert set(m.Flag.objects.values_list("opened_at", flat=True)) == {stamp}


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["--now", "yesterday"], ["--now", "2026-13-01T00:00"], ["--batch-size", "0"]])
def test_the_command_refuses_bad_arguments(district, args):
    with pytest.raises(CommandError):
        call_command("sweep", *args)
    assert not m.Reminder.objects.exists()
