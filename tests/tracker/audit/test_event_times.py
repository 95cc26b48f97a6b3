"""Event data holds every moment in one format: UTC, ISO 8601 with `Z` (tracker.audit.events.EventDataEncoder),
whatever zone the value came in; the hash chain still verifies events written before in another format."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tracker import models as m
from tracker.audit.events import event_record, events_append, events_verify
from tracker.audit.types import EventType

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")


def moments(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in moments(v)]
    if isinstance(value, list):
        return [s for v in value for s in moments(v)]
    return [value] if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T", value) else []


def test_moments_in_any_zone_are_stored_in_utc_with_z(district):
    local = datetime(2030, 7, 15, 23, 59, 59, tzinfo=SHANGHAI)
    utc = datetime(2030, 7, 1, 8, 0, 0, 250_000, tzinfo=UTC)
    event = event_record(
        type=EventType.CYCLE_UPDATED,
        subject=district.cycle,
        cycle=district.cycle,
        data={"local": local, "utc": utc, "nested": [{"at": local}], "day": local.date()},
        dispatch=False,
    )

    stored = m.Event.objects.get(pk=event.pk).data
    assert stored["local"] == "2030-07-15T15:59:59Z"
    assert stored["utc"] == "2030-07-01T08:00:00.250Z"
    assert stored["nested"] == [{"at": "2030-07-15T15:59:59Z"}]
    assert stored["day"] == "2030-07-15"
    assert events_verify().ok


def test_an_extension_records_both_deadlines_in_one_format(district, task_a, client_for):
    client_for(district.supervisor).post(
        f"/api/v1/tasks/{task_a.pk}/extend/", {"due_at": "2030-07-15T09:30:00+08:00", "reason": "r"}, format="json"
    )

    data = m.Event.objects.get(type="task.extended").data
    assert data["from_due_at"] == "2026-06-30T16:00:00Z"
    assert data["due_at"] == "2030-07-15T01:30:00Z"


def test_every_event_of_a_workflow_holds_moments_in_one_format(district, task_a, client_for):
    school, supervisor = client_for(district.school_a_user), client_for(district.supervisor)
    school.post(f"/api/v1/tasks/{task_a.pk}/progress/", {"progress": 50}, format="json")
    supervisor.post(f"/api/v1/tasks/{task_a.pk}/extend/", {"due_at": "2030-07-15", "reason": "r"}, format="json")
    supervisor.post(
        "/api/v1/urges/",
        {"cycle": district.cycle.pk, "school": district.school_a.pk, "message": "m", "respond_by": "2030-07-20"},
        format="json",
    )
    found = [text for event in m.Event.objects.all() for text in moments(event.data)]
    assert len(found) >= 3
    assert all(MOMENT.match(text) for text in found), found


def test_events_written_before_in_another_format_still_verify(district):
    """Old rows keep their text (`+08:00` beside `Z`): the chain hashes what is stored, so it verifies."""
    old = m.Event(
        type="task.extended",
        occurred_at=datetime(2026, 1, 6, tzinfo=UTC),
        cycle=district.cycle,
        subject_type="task",
        subject_id="1",
        data={"from_due_at": "2026-06-30T16:00:00Z", "due_at": "2026-07-16T00:00:00+08:00"},
    )
    events_append([old])
    event_record(type=EventType.CYCLE_UPDATED, subject=district.cycle, data={"at": datetime.now(UTC)}, dispatch=False)

    assert m.Event.objects.get(pk=old.pk).data["due_at"] == "2026-07-16T00:00:00+08:00"
    assert events_verify().ok
