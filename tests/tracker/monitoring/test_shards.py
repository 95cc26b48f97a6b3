"""The sweep fanned out over shards of schools (CONTRACT section 10), in this process (eager mode, as the
embedded demo runs it): the shards cover every school once, and the whole records exactly what the
contract says a sweep records (the reference model of tests/tasks/sweep_oracle.py), with one digest per
recipient; a shard that died half-way and ran again sends nothing twice and misses nothing.
Real worker processes: tests/tasks/test_sweep_shards.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from tests.factories import SchoolFactory, district_spread
from tests.tasks.sweep_oracle import Oracle
from tracker import models as m
from tracker.monitoring import reminders
from tracker.monitoring.school_ranges import SchoolRange, school_ranges
from tracker.monitoring.shards import sweep_fan_out, sweep_shard_run

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

D = timedelta(days=1)
DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)


def schools_in(r: SchoolRange) -> set[int]:
    return set(m.Unit.objects.filter(r.q("id"), kind="school").values_list("id", flat=True))


def test_the_shards_cover_every_school_once_with_about_n_schools_each(district):
    for _ in range(10):
        SchoolFactory(parent=district.bureau)
    schools = set(m.Unit.objects.filter(kind="school").values_list("id", flat=True))
    assert len(schools) == 13

    ranges = school_ranges(per_shard=4)

    assert [len(schools_in(r)) for r in ranges] == [4, 4, 4, 1]
    assert ranges[0].lo is None and ranges[-1].hi is None
    assert all(a.hi == b.lo for a, b in zip(ranges, ranges[1:], strict=False))
    assert set().union(*(schools_in(r) for r in ranges)) == schools
    # a school created after the cut falls in the last shard
    late = SchoolFactory(parent=district.bureau)
    assert late.pk in schools_in(ranges[-1])


def test_fewer_schools_than_a_shard_make_one_shard_of_everything(district):
    assert school_ranges(per_shard=1000) == [SchoolRange()]
    with pytest.raises(ValueError):
        school_ranges(per_shard=0)


def test_a_fanned_out_sweep_records_what_one_sweep_would_and_mails_once(
    district, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    now = DUE + 10 * D
    schools = district_spread(district, schools=7, now=now)
    oracle = Oracle.of(m.Task.objects.filter(cycle=district.cycle))

    with django_capture_on_commit_callbacks(execute=True):
        fan_out = sweep_fan_out(now=now, per_shard=3)

    # then three shards (9 schools and the other bureau's one), each run once, and the run closed once
    run = m.SweepRun.objects.get(pk=fan_out.run_id)
    assert fan_out.shards == run.shard_count == 4
    assert list(run.shards.values_list("attempts", flat=True)) == [1, 1, 1, 1]
    assert run.closed_at is not None and not run.shards.filter(done_at__isnull=True).exists()
    # and the database holds what the contract says one sweep at `now` records, each notified once
    oracle.sweep(now)
    oracle.assert_matches_database(schools)
    assert run.report["reminders"] == m.Reminder.objects.count() > 0
    assert run.report["notifications"] == m.Notification.objects.count()
    # one digest per recipient, with everything
    assert not m.Notification.objects.filter(emailed_at__isnull=True).exists()
    to = [message.to[0] for message in mail.outbox]
    assert len(to) == len(set(to)) == m.Notification.objects.values("recipient").distinct().count()
    assert run.report["emails"] == len(to)

    # when the sweep runs again at the same time, by shards or in one go, nothing new is sent
    with django_capture_on_commit_callbacks(execute=True):
        again = sweep_fan_out(now=now, per_shard=2)
    assert m.SweepRun.objects.get(pk=again.run_id).report["reminders"] == 0
    call_command("sweep", "--now", now.isoformat(), stdout=None)
    oracle.assert_matches_database(schools)
    assert len(mail.outbox) == len(to)


def test_a_shard_that_died_half_way_runs_again_and_sends_the_rest_once(
    district, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the close step runs here (the shard is run by hand below)
    now = DUE + 10 * D
    schools = district_spread(district, schools=5, now=now)
    oracle = Oracle.of(m.Task.objects.filter(cycle=district.cycle))
    with django_capture_on_commit_callbacks(execute=False):  # its shard is not sent
        fan_out = sweep_fan_out(now=now, per_shard=100)
    [shard] = m.SweepShard.objects.filter(run_id=fan_out.run_id)

    # given the shard's worker dies after its second batch of reminders committed
    deliver, batches = reminders.reminders_deliver, []

    def dies_on_the_third_batch(planned, **kwargs):
        batches.append(len(planned))
        if len(batches) == 3:
            raise SystemExit("worker killed")
        return deliver(planned, **kwargs)

    monkeypatch.setattr(reminders, "reminders_deliver", dies_on_the_third_batch)
    with pytest.raises(SystemExit):
        sweep_shard_run(shard_id=shard.pk, batch_size=4)
    sent_before = m.Reminder.objects.count()
    assert sent_before > 0 and sum(batches[:2]) == sent_before

    # when the message is redelivered and the shard runs again
    monkeypatch.setattr(reminders, "reminders_deliver", deliver)
    with django_capture_on_commit_callbacks(execute=True):
        report = sweep_shard_run(shard_id=shard.pk, batch_size=4)

    # then the rest is sent, nothing twice, and the run is closed
    oracle.sweep(now)
    oracle.assert_matches_database(schools)
    assert report["reminders"] == m.Reminder.objects.count() - sent_before > 0
    shard.refresh_from_db()
    assert shard.attempts == 2 and shard.done_at is not None
    assert m.SweepRun.objects.get(pk=fan_out.run_id).closed_at is not None
    # and a third delivery of the same message finds the shard done
    assert sweep_shard_run(shard_id=shard.pk) is None


def test_the_admin_shows_a_run_and_its_shards_read_only(district, settings, client, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        fan_out = sweep_fan_out(now=DUE, per_shard=2)
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw-Qinglian-2026")
    client.force_login(admin)
    url = f"/admin/tracker/sweeprun/{fan_out.run_id}/change/"

    page = client.get(url)

    assert page.status_code == 200
    assert page.content.count(b"field-attempts") == fan_out.shards == 2
    assert client.post(url, {"shard_count": 9}).status_code == 403
    assert client.post(f"/admin/tracker/sweeprun/{fan_out.run_id}/delete/", {"post": "yes"}).status_code == 403
    assert m.SweepRun.objects.get(pk=fan_out.run_id).shard_count == 2
