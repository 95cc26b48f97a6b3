"""Two beat processes on the same schedule (docs/reliability.md, item 5): each reminder once.

"Several minutes" scaled down: both beats (DatabaseScheduler, the schedule `migrate` makes) send the
sweep every 3 seconds, the relay every second, and the daily digest and snapshots every 5 seconds,
for 42 seconds, to two workers, so the sweeps also run two at a time. Deadlines are placed so that
reminder stages, a flag and an escalation come due *during* the run; the reminders, notifications,
e-mailed digests, webhook POSTs and flag events are then counted against the set that one sweep
after each of those moments would make.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils import timezone

from tests.factories import criteria_add
from tracker import models as m
from tracker.notify.services import webhook_create

from .fault_support import (
    HoldingReceiver,
    quiesce,
    schedule_fast,
    until,
)

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

D = timedelta(days=1)
S = timedelta(seconds=1)
SWEEP_EVERY = 3  # seconds
RUN = 42  # seconds
SWEEP = "tracker.sweep"
DAILY = ("tracker.daily_digest", "tracker.take_snapshots")
DAILY_EVERY = 5  # seconds: the daily jobs, fired over and over by both beats within one day


def digests(mail_dir: Path) -> list[tuple[str, str]]:
    """(recipient, subject) of every e-mail the workers wrote (Django's file back-end)."""
    out = []
    for path in sorted(mail_dir.glob("*")):
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                message = email.message_from_string(chunk.strip(), policy=email.policy.default)
                out.append((str(message["To"]).strip(), str(message["Subject"]).strip()))
    return out


def test_two_beats_on_one_schedule_send_each_reminder_once(broker_view, district, spawn, settings, tmp_path):
    # given two tasks per school, nothing due yet, e-mail addresses, and a webhook on school A
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    far = timezone.now() + 100 * D
    criteria_add(district, [far], prefix="B")
    m.Task.objects.update(due_at=far)
    for user in get_user_model().objects.all():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    schedule_fast({SWEEP: SWEEP_EVERY, "tracker.relay_events": 1, **dict.fromkeys(DAILY, DAILY_EVERY)})
    quiesce(broker_view)
    a1, a2 = m.Task.objects.filter(cycle=district.cycle, school=district.school_a).order_by("id")
    b1, b2 = m.Task.objects.filter(cycle=district.cycle, school=district.school_b).order_by("id")

    with HoldingReceiver() as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        workers = [spawn.worker("w1"), spawn.worker("w2")]
        beats = [spawn.beat("beat1"), spawn.beat("beat2")]

        # when deadlines fall due during the run (seconds from t0 in brackets)
        t0 = timezone.now()
        due = {
            a1.pk: t0 + D + 14 * S,  # due_soon -7 at once, due_soon -1 [14]
            a2.pk: t0 + 24 * S,  # due_soon -1 at once, overdue 0 [24]: school A flagged
            b1.pk: t0 - 3 * D + 18 * S,  # overdue 0 at once (school B flagged), overdue 3 [18]
            b2.pk: t0 - 7 * D + 30 * S,  # overdue 6 at once, escalation [30]: school B critical
        }
        # every deadline set a month ago and nothing done since: A's two, due within 14 days, are at risk
        for pk, due_at in due.items():
            m.Task.objects.filter(pk=pk).update(due_at=due_at, due_set_at=t0 - 30 * D)
        until(
            lambda: m.Reminder.objects.filter(task=a1, stage=-7).exists(),
            timeout=13,
            what="a sweep before the first stage",
        )
        until(lambda: timezone.now() > t0 + RUN * S, timeout=RUN + 5, what="the end of the run")
        for beat in beats:
            beat.stop()
        until(lambda: broker_view.queued() == 0 and not broker_view.unacked(), timeout=60, what="the workers to drain")
        # every delivery finished: no POST in flight, none to retry
        until(
            lambda: not m.WebhookDelivery.objects.filter(status=m.DeliveryStatus.PENDING).exists(),
            timeout=30,
            what="every webhook delivery to finish",
        )
        sweeps = [w.count(rf"Task {SWEEP}\[[0-9a-f-]+\] succeeded") for w in workers]
        sent = [b.count(rf"Sending due task .*\({SWEEP}\)") for b in beats]
        daily_sent = [b.count(r"Sending due task .*\(tracker\.daily_digest\)") for b in beats]

    # then both beats sent the sweep all along, and the workers ran every one of them
    assert min(sent) >= RUN // SWEEP_EVERY - 3, sent
    # (a beat stopped right after logging a send may not have published it: at most one each)
    assert sum(sent) - len(beats) <= sum(sweeps) <= sum(sent), (sweeps, sent)
    assert min(sweeps) >= 1

    # and each reminder was recorded once: exactly the stages reached during the run
    reminders = set(m.Reminder.objects.filter(task__isnull=False).values_list("task_id", "kind", "stage"))
    assert reminders == {
        (a1.pk, "at_risk", 0),
        (a2.pk, "at_risk", 0),
        (a1.pk, "due_soon", -7),
        (a1.pk, "due_soon", -1),
        (a2.pk, "due_soon", -1),
        (a2.pk, "overdue", 0),
        (b1.pk, "overdue", 0),
        (b1.pk, "overdue", 3),
        (b2.pk, "overdue", 6),
        (b2.pk, "escalation", 7),
    }
    flag_a = m.Flag.objects.get(school=district.school_a)
    flag_b = m.Flag.objects.get(school=district.school_b)
    assert (flag_a.severity, flag_a.resolved_at, flag_b.severity, flag_b.resolved_at) == (
        "warning",
        None,
        "critical",
        None,
    )
    assert set(m.Reminder.objects.filter(flag__isnull=False).values_list("flag_id", "kind")) == {
        (flag_a.pk, "flag_opened"),
        (flag_b.pk, "flag_opened"),
        (flag_b.pk, "flag_critical"),
    }
    flag_events = Counter(m.Event.objects.filter(subject_type="flag").values_list("type", flat=True))
    assert flag_events == {"flag.opened": 2, "flag.escalated": 1}

    # and each reminder reached each of its recipients once: in the inbox, by e-mail, by webhook
    per_reminder = (
        m.Notification.objects.filter(reminder__isnull=False)
        .values("reminder__kind")
        .annotate(n=Count("id"), people=Count("recipient", distinct=True), reminders=Count("reminder", distinct=True))
    )
    # flag_critical: the school, its supervisor and (issue 13) the district's inspector
    recipients = {"due_soon": 1, "overdue": 1, "escalation": 1, "at_risk": 1, "flag_opened": 2, "flag_critical": 3}
    for row in per_reminder:
        assert row["n"] == row["reminders"] * recipients[row["reminder__kind"]], row
    assert m.Notification.objects.filter(reminder__isnull=False).count() == 10 + 2 * 2 + 3
    assert not m.Notification.objects.filter(emailed_at__isnull=True).exists()
    mailed: Counter = Counter()
    daily: Counter = Counter()
    for to, subject in digests(tmp_path / "mail"):
        if subject.startswith("清廉每日摘要"):  # the daily digest
            daily[to] += 1
        else:  # a sweep's digest: "清廉:N条新通知"
            mailed[to] += int(re.search(r"(\d+)", subject).group(1))
    inbox = Counter(
        f"{username}@example.org"
        for username in m.Notification.objects.values_list("recipient__username", flat=True).order_by("id")
    )
    assert mailed == inbox
    school_a_reminders = m.Reminder.objects.filter(task__school=district.school_a).count() + 1  # + flag_opened
    assert len(receiver.ids()) == len(set(receiver.ids())) == school_a_reminders
    assert m.WebhookDelivery.objects.filter(webhook=hook, status="delivered").count() == school_a_reminders

    # and the daily jobs, which both beats fired again and again the same day, took effect once: one
    # daily digest per supervisor and inspector, one snapshot per school
    assert min(daily_sent) >= RUN // DAILY_EVERY - 3, daily_sent
    days = len({timezone.localdate(t0), timezone.localdate(t0 + RUN * S)})  # a run may span local midnight
    managers = [district.supervisor, district.inspector, district.other_supervisor]
    assert daily == {f"{u.username}@example.org": days for u in managers}
    assert m.DailySnapshot.objects.count() == 3 * days
    print(f"[faults] item 5: sweeps sent per beat {sent}, run per worker {sweeps}; reminders {len(reminders)}")
    print(f"[faults] item 5: daily digest sent per beat {daily_sent}, mailed {sum(daily.values())}")
