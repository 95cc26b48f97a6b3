"""The event log on PostgreSQL: append-only for the application, and tampering is detected.

- The trigger of tracker/migrations/0002 refuses UPDATE and DELETE on tracker_event, from the ORM and
  from raw SQL, whoever asks.
- A row changed behind the trigger's back (a superuser disabling it) is found by verify_events.
- An application role that is neither owner nor superuser, even with every table privilege granted
  (the lazy `GRANT ALL`), cannot update, delete, truncate, or switch the trigger off.

Roles are created inside the test's transaction, so the rollback at the end removes them.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from rest_framework.throttling import SimpleRateThrottle

from config.settings import base
from tests.conftest import District
from tracker.assessment.task_services import task_progress, task_start
from tracker.audit.events import event_record, events_verify
from tracker.models import Event, Task
from tracker.org.models import Role

pytestmark = pytest.mark.django_db

TRIGGER = "tracker_event_append_only"
# Django's foreign keys are deferred: rows inserted by the test leave checks pending until commit, and
# PostgreSQL will not ALTER or TRUNCATE a table with pending checks. Run them now.
IMMEDIATE = "SET CONSTRAINTS ALL IMMEDIATE"


def refused(sql: str, params: tuple = (), *, role: str | None = None) -> str:
    """Run `sql` in a savepoint (as `role` if given); return the database's refusal, or fail."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(IMMEDIATE)
            if role:
                cursor.execute(f'SET ROLE "{role}"')
            cursor.execute(sql, params)
    except DatabaseError as exc:
        return str(exc)
    pytest.fail(f"the database accepted: {sql}")


def tamper(*statements: tuple[str, tuple]) -> None:
    """What only a superuser can do: switch the trigger off, change the log, switch it on again."""
    with connection.cursor() as cursor:
        cursor.execute(IMMEDIATE)
        cursor.execute(f"ALTER TABLE tracker_event DISABLE TRIGGER {TRIGGER}")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE tracker_event ENABLE TRIGGER {TRIGGER}")


def remove(event: Event) -> None:
    tamper(
        ("DELETE FROM tracker_eventdispatch WHERE event_id = %s", (event.pk,)),
        ("DELETE FROM tracker_event WHERE id = %s", (event.pk,)),
    )


@pytest.fixture
def events(district: District) -> list[Event]:
    assert connection.vendor == "postgresql"
    task = Task.objects.get(cycle=district.cycle, school=district.school_a)
    task_start(task=task, actor=district.school_a_user)
    task_progress(task=task, actor=district.school_a_user, progress=30, note="half way")
    found = list(Event.objects.order_by("id"))
    assert len(found) >= 3
    assert events_verify().ok
    return found


def test_update_and_delete_are_refused_even_as_raw_sql(events: list[Event]) -> None:
    event = events[1]
    assert "append-only" in refused("UPDATE tracker_event SET data = '{}'::jsonb WHERE id = %s", (event.pk,))
    assert "append-only" in refused("UPDATE tracker_event SET hash = prev_hash")
    assert "append-only" in refused("DELETE FROM tracker_event WHERE id = %s", (event.pk,))
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=event.pk).update(type="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=event.pk)._raw_delete(connection.alias)
    event.refresh_from_db()
    assert event.type != "forged"
    assert Event.objects.count() == len(events)
    assert events_verify().ok


def test_a_row_changed_behind_the_triggers_back_is_named_by_verify_events(events: list[Event]) -> None:
    event = events[1]
    tamper(('UPDATE tracker_event SET data = \'{"score": "10.00"}\'::jsonb WHERE id = %s', (event.pk,)))
    with pytest.raises(CommandError) as failure:
        call_command("verify_events")
    assert f"event {event.pk}" in str(failure.value)
    assert failure.value.returncode == 1  # manage.py exits with it


def test_a_row_removed_behind_the_triggers_back_is_found(events: list[Event]) -> None:
    removed, following = events[1], events[2]
    remove(removed)
    with pytest.raises(CommandError) as failure:
        call_command("verify_events")
    assert f"event {following.pk}" in str(failure.value)


def test_the_newest_row_removed_is_found_through_the_chain_head(events: list[Event]) -> None:
    remove(events[-1])
    with pytest.raises(CommandError) as failure:
        call_command("verify_events")
    assert "removed" in str(failure.value)


def test_an_untouched_log_verifies(events: list[Event], capsys) -> None:
    call_command("verify_events")
    assert f"ok {len(events)} events" in capsys.readouterr().out


@pytest.fixture
def app_role(events: list[Event]) -> str:
    """A login for the application as it is often set up: every privilege on every table, not owner."""
    name = f"qinglian_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{name}" NOLOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB')
        cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{name}"')
        cursor.execute(f'GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO "{name}"')
        cursor.execute(f'GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO "{name}"')
    return name


def test_the_application_role_can_append_events(app_role: str, district: District) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{app_role}"')
        try:
            event = event_record(type="test.appended", subject=district.school_a, actor=district.supervisor)
        finally:
            cursor.execute("RESET ROLE")
    assert Event.objects.filter(pk=event.pk).exists()
    assert events_verify().ok


def test_the_application_role_cannot_edit_the_log(app_role: str, events: list[Event]) -> None:
    pk = events[1].pk
    assert "append-only" in refused("UPDATE tracker_event SET data = '{}'::jsonb WHERE id = %s", (pk,), role=app_role)
    assert "append-only" in refused("DELETE FROM tracker_event WHERE id = %s", (pk,), role=app_role)
    assert "append-only" in refused("TRUNCATE tracker_event CASCADE", role=app_role)


def test_the_application_role_cannot_switch_the_trigger_off(app_role: str, events: list[Event]) -> None:
    assert "owner" in refused(f"ALTER TABLE tracker_event DISABLE TRIGGER {TRIGGER}", role=app_role)
    assert "owner" in refused("ALTER TABLE tracker_event DISABLE TRIGGER ALL", role=app_role)
    assert "owner" in refused(f"DROP TRIGGER {TRIGGER} ON tracker_event", role=app_role)
    # Replica mode would skip ordinary triggers: only a superuser may set it.
    assert "permission denied" in refused("SET session_replication_role = replica", role=app_role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [TRIGGER])
        assert cursor.fetchone() == ("O",)  # still enabled
    assert Event.objects.count() == len(events)
    assert events_verify().ok


# --- GET /api/v1/events/verify/: the same check, for supervisors and inspectors --------------------------
def test_supervisors_and_inspectors_verify_the_chain_over_the_api(
    events: list[Event], district: District, client_for
) -> None:
    people = {Role.SUPERVISOR: district.supervisor, Role.INSPECTOR: district.inspector}
    for user in people.values():
        response = client_for(user).get("/api/v1/events/verify/")
        assert response.status_code == 200
        assert response.json() == {"ok": True, "events": Event.objects.count(), "first_broken": None}
    assert client_for(district.school_a_user).get("/api/v1/events/verify/").status_code == 403
    assert client_for(None).get("/api/v1/events/verify/").status_code == 401

    tamper(('UPDATE tracker_event SET data = \'{"score": "10.00"}\'::jsonb WHERE id = %s', (events[1].pk,)))
    broken = client_for(people[Role.INSPECTOR]).get("/api/v1/events/verify/").json()
    assert broken["ok"] is False
    assert broken["events"] == 1
    assert broken["first_broken"]["id"] == events[1].pk
    assert broken["first_broken"]["reason"]


def test_verifying_over_the_api_is_rate_limited(
    events: list[Event], district: District, client_for, monkeypatch
) -> None:
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    cache.clear()
    client = client_for(district.inspector)
    limit = int(base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["events_verify"].split("/")[0])
    statuses = [client.get("/api/v1/events/verify/").status_code for _ in range(limit + 1)]
    cache.clear()
    assert statuses == [200] * limit + [429]
