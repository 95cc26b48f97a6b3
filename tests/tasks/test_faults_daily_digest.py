"""The daily digest, fired more than once a day (docs/reliability.md, item 5: two beats each fire it at
08:00; a redelivered or retried task runs it again): each supervisor and inspector gets one per local
date. The two-beat run in test_faults_beat.py shows it with real processes; these pin the rule."""

from __future__ import annotations

import smtplib
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection

from tracker import models as m
from tracker.reporting.daily_digest import daily_digest_send

pytestmark = pytest.mark.faults

NOW = datetime(2026, 6, 1, 0, 5, tzinfo=UTC)  # 08:05 in Asia/Shanghai


class FailingBackend(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("the mail server went away")


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
    with pytest.raises(smtplib.SMTPException):
        daily_digest_send(now=NOW)
    assert not m.DailyDigest.objects.exists()

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
    assert m.DailyDigest.objects.count() == 3
