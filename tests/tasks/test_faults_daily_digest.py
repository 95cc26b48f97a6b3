"""The daily digest, fired more than once a day (docs/reliability.md, item 5: two beats each fire it at
08:00; a redelivered or retried task runs it again): each supervisor and inspector gets one per local
date. The two-beat run in test_faults_beat.py shows it with real processes; these pin the rule.

And never lost (issue 13, item 10): a run killed between its claim and the send leaves the digest to
the next run once the claim lapses; a message the mail server refuses is retried alone, the others go
out; a unit name with a line break (item 2) breaks no header."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from tests.tasks.conftest import ROOT, database_url
from tracker import models as m
from tracker.reporting.daily_digest import daily_digest_send

pytestmark = [pytest.mark.serial, pytest.mark.faults]

NOW = datetime(2026, 6, 1, 0, 5, tzinfo=UTC)  # 08:05 in Asia/Shanghai


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


class CrashingBackend(BaseEmailBackend):
    """The process dies the moment it would hand a message to the mail server."""

    def send_messages(self, messages):
        os.kill(os.getpid(), signal.SIGKILL)


class RefusingOneBackend(BaseEmailBackend):
    """A mail server that refuses one recipient (the first supervisor's address) and takes the rest."""

    refused = ""

    def send_messages(self, messages):
        for message in messages:
            if self.refused in message.to:
                raise smtplib.SMTPRecipientsRefused({self.refused: (550, b"mailbox unavailable")})
        mail.outbox.extend(messages)
        return len(messages)


def managers(district) -> list:
    people = [district.supervisor, district.inspector, district.other_supervisor]
    for user in people:
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return people


def per_person() -> Counter:
    return Counter(message.to[0] for message in mail.outbox)


@pytest.mark.django_db
def test_the_daily_digest_fired_twice_the_same_day_mails_each_person_once(district):
    people = managers(district)

    assert daily_digest_send(now=NOW) == 3
    assert daily_digest_send(now=NOW + timedelta(minutes=1)) == 0  # the second beat
    assert daily_digest_send(now=NOW + timedelta(hours=15)) == 0  # 23:05 local: still the same day
    assert per_person() == {f"{u.username}@example.org": 1 for u in people}

    # the next local day (16:00 UTC is midnight in Asia/Shanghai) mails again
    assert daily_digest_send(now=NOW + timedelta(hours=16)) == 3
    assert per_person() == {f"{u.username}@example.org": 2 for u in people}


@pytest.mark.django_db
def test_a_daily_digest_that_could_not_be_sent_is_sent_by_the_next_run(district, settings):
    people = managers(district)
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    assert daily_digest_send(now=NOW) == 0  # every message refused: none counted, none marked sent
    assert not m.DailyDigest.objects.filter(sent_at__isnull=False).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert daily_digest_send(now=NOW + timedelta(minutes=5)) == 3
    assert per_person() == {f"{u.username}@example.org": 1 for u in people}


@pytest.mark.django_db(transaction=True)
def test_two_daily_digests_at_the_same_moment_mail_each_person_once(district):
    people = managers(district)
    start = threading.Barrier(2)
    sent: list[int] = []

    def fire() -> None:
        try:
            start.wait(timeout=10)
            sent.append(daily_digest_send(now=NOW))
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(sent) == 3  # one run claimed every digest, the other none (or they shared them)
    assert per_person() == {f"{u.username}@example.org": 1 for u in people}
    assert m.DailyDigest.objects.count() == m.DailyDigest.objects.filter(sent_at__isnull=False).count() == 3


CRASH_RUN = """
import django
django.setup()
from datetime import datetime
from django.conf import settings
from tracker.reporting.daily_digest import daily_digest_send
settings.EMAIL_BACKEND = "tests.tasks.test_faults_daily_digest.CrashingBackend"
daily_digest_send(now=datetime.fromisoformat("{now}"))
"""


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_between_claim_and_send_loses_no_digest(district, settings):
    people = managers(district)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database_url())

    # A worker claims the day's digests and is killed (SIGKILL) as it hands the first one over.
    run = subprocess.run(
        [sys.executable, "-c", CRASH_RUN.format(now=NOW.isoformat())], cwd=ROOT, env=env, capture_output=True
    )
    assert run.returncode == -signal.SIGKILL, run.stderr.decode()[-2000:]
    assert m.DailyDigest.objects.count() == 3
    assert not m.DailyDigest.objects.filter(sent_at__isnull=False).exists()

    # Its claims hold for a while (another run now must not send them a second time)...
    assert daily_digest_send(now=NOW + timedelta(minutes=1)) == 0
    # ...then lapse, and the next run sends each digest once; and never again that day.
    lapsed = NOW + timedelta(seconds=settings.TRACKER["DIGEST_CLAIM_SECONDS"] + 1)
    assert daily_digest_send(now=lapsed) == 3
    assert daily_digest_send(now=lapsed + timedelta(minutes=30)) == 0
    assert per_person() == {f"{u.username}@example.org": 1 for u in people}


@pytest.mark.django_db
def test_one_refused_message_stops_no_other_and_is_retried_alone(district, settings):
    people = managers(district)
    RefusingOneBackend.refused = people[0].email
    settings.EMAIL_BACKEND = f"{__name__}.RefusingOneBackend"

    assert daily_digest_send(now=NOW) == 2
    assert per_person() == {people[1].email: 1, people[2].email: 1}

    RefusingOneBackend.refused = ""  # the mailbox is back
    assert daily_digest_send(now=NOW + timedelta(minutes=5)) == 1
    assert per_person() == {u.email: 1 for u in people}


@pytest.mark.django_db
def test_a_line_break_in_a_unit_name_breaks_nobodys_digest(district):
    """A CR/LF in one bureau's name made Django refuse the header of its digest (BadHeaderError), and the
    whole batch with it: the other bureau's staff got nothing either."""
    people = managers(district)
    district.bureau.name = "Putuo\r\nBcc: everyone@example.org\r\nBureau"
    district.bureau.save(update_fields=["name"])

    assert daily_digest_send(now=NOW) == 3

    assert per_person() == {u.email: 1 for u in people}
    subjects = [message.subject for message in mail.outbox]
    assert all("\r" not in s and "\n" not in s for s in subjects)
    assert any("Putuo Bcc: everyone@example.org Bureau" in s for s in subjects)
    assert all(message.bcc == [] for message in mail.outbox)
