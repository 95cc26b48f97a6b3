"""GET /dashboards/oversight/: per flag, the first urge and the answer and how long each took."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tracker import models as m
from tracker.monitoring.services import urge_create, urge_respond

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

H = timedelta(hours=1)


@pytest.fixture
def followed_up(district):
    """school_a: flag opened 5 days ago, urged after 10 h, answered 30 h later.
    school_b: flag opened 4 days ago, never urged. Another district: a flag, urged."""
    now = timezone.now()
    opened_a = now - timedelta(days=5)
    opened_b = now - timedelta(days=4)
    m.Flag.objects.create(cycle=district.cycle, school=district.school_a, severity="critical", opened_at=opened_a)
    m.Flag.objects.create(cycle=district.cycle, school=district.school_b, severity="warning", opened_at=opened_b)
    m.Flag.objects.create(
        cycle=district.other_cycle, school=district.other_school, severity="warning", opened_at=opened_b
    )
    # an urge before the flag opened does not count as following it up
    urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_b,
        message="early",
        respond_by=now - timedelta(days=4, hours=-1),
        now=now - timedelta(days=6),
    )
    urge = urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_a,
        message="Please catch up.",
        respond_by=now,
        now=opened_a + 10 * H,
    )
    urge_respond(actor=district.school_a_user, urge=urge, response="On it.", now=opened_a + 40 * H)
    return district


def test_each_flag_shows_its_follow_up(followed_up, client_for):
    d = followed_up
    body = client_for(d.inspector).get(f"/api/v1/dashboards/oversight/?cycle={d.cycle.pk}").json()

    rows = {row["school"]["id"]: row for row in body["flags"]}
    assert set(rows) == {d.school_a.pk, d.school_b.pk}
    a, b = rows[d.school_a.pk], rows[d.school_b.pk]
    assert (a["hours_to_urge"], a["hours_to_response"], a["urged_by"]) == (10.0, 30.0, d.supervisor.username)
    assert a["first_urge_at"] is not None and a["responded_at"] is not None
    assert (b["first_urge_at"], b["hours_to_urge"], b["responded_at"], b["resolved_at"]) == (None, None, None, None)
    assert body["cycle"] == d.cycle.pk


def test_totals_against_the_slas(followed_up, client_for, settings):
    d = followed_up
    settings.TRACKER = {**settings.TRACKER, "URGE_SLA_DAYS": 1, "RESPONSE_SLA_DAYS": 1}

    totals = client_for(d.supervisor).get(f"/api/v1/dashboards/oversight/?cycle={d.cycle.pk}").json()["totals"]

    assert totals == {
        "flags": 2,
        "open": 2,
        "urged": 1,
        "urged_within_sla": 1,  # 10 h <= 1 day
        "not_urged_past_sla": 1,  # school_b: 4 days without an urge
        "answered": 1,
        "answered_within_sla": 0,  # 30 h > 1 day
    }


def test_a_longer_response_sla_counts_the_answer_in_time(followed_up, client_for, settings):
    settings.TRACKER = {**settings.TRACKER, "RESPONSE_SLA_DAYS": 2}
    d = followed_up

    totals = client_for(d.inspector).get(f"/api/v1/dashboards/oversight/?cycle={d.cycle.pk}").json()["totals"]

    assert totals["answered_within_sla"] == 1


def test_a_school_account_gets_403(followed_up, client_for):
    d = followed_up
    assert client_for(d.school_a_user).get(f"/api/v1/dashboards/oversight/?cycle={d.cycle.pk}").status_code == 403


def test_another_districts_cycle_is_404_and_a_malformed_cycle_400(followed_up, client_for):
    d = followed_up
    client = client_for(d.inspector)
    assert client.get(f"/api/v1/dashboards/oversight/?cycle={d.other_cycle.pk}").status_code == 404
    assert client.get("/api/v1/dashboards/oversight/?cycle=abc").status_code == 400
    # Without ?cycle= the latest active cycle in scope: the inspector's own, never the other district's.
    assert client.get("/api/v1/dashboards/oversight/").json()["cycle"] == d.cycle.pk
