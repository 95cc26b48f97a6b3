"""The integrity rules and the "live round" rule, their database and Python forms answering alike on the
same rows (boundary times included), and inside hand-written SQL as the reminder planner uses them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q

from tests.integrity_support import NOW, D
from tracker import models as m
from tracker.integrity.campaign_services import campaign_close
from tracker.integrity.rules import checklist_is_overdue, checklist_overdue_q, has_process_map_q
from tracker.monitoring.rules import in_active_campaign_q, is_live, live_q
from tracker.sql import named, where_sql

pytestmark = pytest.mark.django_db
TINY = timedelta(microseconds=1)


def raw_ids(model, q: Q, alias: str) -> set[int]:
    where, params = named(*where_sql(model, q, alias=alias), "p")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {alias}.id FROM {model._meta.db_table} {alias} WHERE {where}", params)
        return {row[0] for row in cursor.fetchall()}


def test_checklist_overdue_in_the_database_and_in_python(integrity):
    campaign = integrity.campaign()
    school = integrity.d.school_a
    made = []
    for n, (due, done) in enumerate(
        (due, done) for due in (NOW - D, NOW - TINY, NOW, NOW + TINY) for done in (None, NOW - 2 * D)
    ):
        unit = (
            school
            if n == 0
            else m.Unit.objects.create(name=f"s{n}", code=f"S-{n}", kind="school", parent=school.parent)
        )
        checklist, _ = m.Checklist.objects.update_or_create(
            campaign=campaign, school=unit, defaults={"due_at": due, "completed_at": done}
        )
        made.append(checklist)
    pool = {c.pk for c in made}
    expected = {c.pk for c in made if checklist_is_overdue(completed_at=c.completed_at, due_at=c.due_at, now=NOW)}
    q = checklist_overdue_q(NOW)
    assert set(m.Checklist.objects.filter(q).values_list("id", flat=True)) & pool == expected
    assert raw_ids(m.Checklist, q, "k") & pool == expected
    assert len(expected) == 2  # open and due a day or a microsecond ago; not at now, not done


def test_live_rounds_in_the_database_and_in_python(integrity):
    d = integrity.d
    open_campaign = integrity.campaign()
    closed_campaign = integrity.campaign()
    campaign_close(actor=d.supervisor, campaign=closed_campaign, now=NOW)
    tasks = [
        m.Task.objects.create(
            kind="rectification",
            campaign=c,
            school=d.school_a,
            due_at=NOW,
            original_due_at=NOW,
            due_set_at=NOW,
            title="t",
        )
        for c in (open_campaign, closed_campaign)
    ]
    tasks += list(m.Task.objects.filter(cycle__in=[d.cycle, d.other_cycle]))
    d.other_cycle.status = "closed"
    d.other_cycle.save(update_fields=["status"])
    pool = {t.pk for t in tasks}
    rows = m.Task.objects.filter(pk__in=pool).values_list("id", "cycle__status", "campaign__status")
    expected = {pk for pk, cycle, campaign in rows if is_live(cycle_status=cycle, campaign_status=campaign)}

    assert set(m.Task.objects.filter(live_q(), pk__in=pool).values_list("id", flat=True)) == expected
    assert raw_ids(m.Task, live_q(), "t") & pool == expected
    assert tasks[0].pk in expected and tasks[1].pk not in expected
    assert {t.pk for t in tasks if t.cycle_id == d.other_cycle.pk}.isdisjoint(expected)
    # The same rule holds for flags and urges (every model with a cycle and a campaign).
    flag = m.Flag.objects.create(campaign=closed_campaign, school=d.school_a, severity="warning", opened_at=NOW)
    assert not m.Flag.objects.filter(live_q(), pk=flag.pk).exists()
    assert set(m.Checklist.objects.filter(in_active_campaign_q()).values_list("campaign_id", flat=True)) == {
        open_campaign.pk
    }


def test_has_process_map_in_the_database(integrity):
    register = m.Register.objects.create(school=integrity.d.school_a, year=2026)
    common = {"register": register, "school": integrity.d.school_a, "item": integrity.m1, "post": "leader"}
    with_map = m.RiskPoint.objects.create(
        description="a",
        level="high",
        measures=["m"],
        process_map=[{"step": "s", "role": "r", "control": True}],
        created_at=NOW,
        **common,
    )
    m.RiskPoint.objects.create(description="b", level="low", measures=["m"], process_map=[], created_at=NOW, **common)
    assert list(m.RiskPoint.objects.filter(has_process_map_q()).values_list("id", flat=True)) == [with_map.pk]
