"""Daylight saving and clock steps (docs/reliability.md, item 7).

TIME_ZONE is a zone with daylight saving (America/New_York); deadlines sit on the changes (a wall
time that does not exist, a wall time that happens twice, local midnight, 1 and 7 days around them)
and the sweep runs at `now` values that go forward in uneven steps and jump back across every
change and every deadline (a host whose clock is stepped back by NTP, two hosts with skewed clocks,
a wall clock that repeats the autumn hour). After every sweep the database must hold exactly what
the reference model (tests/tasks/sweep_oracle.py) holds for the latest `now` seen so far: a clock
stepped back changes nothing, so reminders neither repeat nor vanish. The daily digest goes out
once per local date, however the clock moves across midnight.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from tests.factories import criteria_add
from tracker import models as m
from tracker.monitoring.sweep import sweep_run
from tracker.reporting.daily_digest import daily_digest_send
from tracker.reporting.snapshots import snapshots_take

from .sweep_oracle import Oracle

pytestmark = [pytest.mark.serial, pytest.mark.faults, pytest.mark.django_db]

NY = ZoneInfo("America/New_York")
H = timedelta(hours=1)
D = timedelta(days=1)

WINDOWS = {
    # 2026-03-08 02:00 EST -> 03:00 EDT
    "spring forward": (
        datetime(2026, 3, 8, 2, 0, tzinfo=NY),
        [
            datetime(2026, 3, 8, 1, 30, tzinfo=NY),  # half an hour before the jump
            datetime(2026, 3, 8, 2, 30, tzinfo=NY),  # a wall time that does not exist
            datetime(2026, 3, 8, 3, 30, tzinfo=NY),
            datetime(2026, 3, 8, 0, 0, tzinfo=NY),  # local midnight of the change
            datetime(2026, 3, 1, 2, 30, tzinfo=NY),  # escalates (7 days) across the change
            datetime(2026, 3, 9, 2, 30, tzinfo=NY),  # due_soon -1 across the change
        ],
    ),
    # 2026-11-01 02:00 EDT -> 01:00 EST
    "fall back": (
        datetime(2026, 11, 1, 1, 0, fold=1, tzinfo=NY),
        [
            datetime(2026, 11, 1, 1, 30, tzinfo=NY),  # the first 01:30 (EDT)
            datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY),  # the second 01:30 (EST), an hour later
            datetime(2026, 11, 1, 0, 0, tzinfo=NY),
            datetime(2026, 10, 25, 1, 30, tzinfo=NY),  # escalates in the repeated hour
            datetime(2026, 11, 2, 1, 30, tzinfo=NY),  # due_soon -1 in the repeated hour
        ],
    ),
}


def clock(change: datetime, deadlines: list[datetime], seed: int) -> list[datetime]:
    """`now` values: forward in 1-7 hour steps from a week before the first deadline to ten days after
    the last, jumping back and forth across the change and across each deadline and stage boundary."""
    rng = random.Random(seed)
    marks = [change] + [d + k * D for d in deadlines for k in (-7, -1, 0, 3, 7)]
    now, end = min(deadlines) - 8 * D, max(deadlines) + 10 * D
    # Once, the clock leaps two days ahead over the first deadline (its due_soon -1 is skipped: only the
    # latest stage is sent) and comes back: nothing about those two days may be sent afterwards.
    first = min(deadlines)
    nows = [first - 3 * D, first + 3 * H, first - 3 * H, first - 2 * D]
    now = first - 2 * D
    pending = sorted(x for x in marks if x > now)
    while now < end:
        while pending and pending[0] <= now:
            x = pending.pop(0)
            nows += [x - 30 * timedelta(minutes=1), x + H, x - H, x + 2 * H, x - 5 * timedelta(minutes=1)]
        nows.append(now)
        now += rng.randint(1, 7) * H
    nows.append(end)
    return nows


@pytest.mark.parametrize("window", list(WINDOWS))
def test_reminders_neither_repeat_nor_vanish_across_daylight_saving_and_clock_steps(district, settings, window):
    settings.TIME_ZONE = "America/New_York"
    change, deadlines = WINDOWS[window]
    m.Task.objects.update(due_at=datetime(2027, 6, 30, tzinfo=NY))
    set_at = min(deadlines) - 30 * D  # every task's deadline set a month ahead: early warning judges them
    criteria_add(district, deadlines, prefix="DST", now=set_at)
    for user in get_user_model().objects.all():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    tasks = m.Task.objects.filter(cycle=district.cycle, criterion__code__startswith="DST")
    oracle = Oracle.of(tasks)
    schools = [district.school_a.pk, district.school_b.pk]

    latest = None
    nows = clock(change, deadlines, seed=len(window))
    steps_back = sum(1 for a, b in zip(nows, nows[1:], strict=False) if b < a)
    for now in nows:
        report = sweep_run(now=now)
        daily_digest_send(now=now)
        snapshots_take(now=now)
        if latest is None or now > latest:
            latest = now
            oracle.sweep(now)
        else:
            # a clock stepped back changes nothing
            assert (report.reminders, report.flag_changes) == (0, 0), (now, report)
        oracle.assert_matches_database(schools)

    # every kind of reminder came (the model checked each stage of each task above)
    assert {kind for (_, kind, _, _) in oracle.reminders} == {"due_soon", "overdue", "escalation", "at_risk"}
    # one e-mail per person per local date with a daily digest; every notification mailed once
    dates = {timezone.localdate(now) for now in nows}
    daily = Counter(
        msg.to[0] for msg in mail.outbox if msg.subject.startswith(("清廉每日摘要", "Qinglian daily digest"))
    )
    managers = [district.supervisor, district.inspector, district.other_supervisor]
    assert daily == {f"{u.username}@example.org": len(dates) for u in managers}
    assert m.DailyDigest.objects.count() == len(dates) * len(managers)
    mailed: Counter = Counter()
    for msg in mail.outbox:
        if not msg.subject.startswith(("清廉每日摘要", "Qinglian daily digest")):
            mailed[msg.to[0]] += int(re.search(r"(\d+)", msg.subject).group(1))
    assert mailed == Counter(
        f"{u}@example.org" for u in m.Notification.objects.values_list("recipient__username", flat=True)
    )
    assert m.DailySnapshot.objects.filter(cycle=district.cycle).count() == 2 * len(dates)
    print(f"[faults] item 7 {window}: {len(nows)} sweeps, {steps_back} steps back, {len(oracle.reminders)} reminders")
