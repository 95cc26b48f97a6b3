"""/audit/verify/: the event log's chain checked from the browser, the same check as verify_events."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.security.test_event_log_immutable import tamper
from tracker.assessment.task_services import task_progress, task_start
from tracker.audit.events import events_verify
from tracker.audit.models import Event
from tracker.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(district) -> list[Event]:
    cache.clear()
    task = Task.objects.get(cycle=district.cycle, school=district.school_a)
    task_start(task=task, actor=district.school_a_user)
    task_progress(task=task, actor=district.school_a_user, progress=30, note="half way")
    found = list(Event.objects.order_by("id"))
    assert len(found) >= 3
    return found


@pytest.mark.parametrize("who", ["supervisor", "inspector"])
def test_the_authority_checks_the_chain_and_reads_the_count(district, events, page_for, who):
    client = page_for(getattr(district, who), "en")
    assert 'name="action" value="verify"' in client.get("/audit/verify/").content.decode()
    response = client.post("/audit/verify/")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-verify="ok"' in text
    assert f"The chain holds: {events_verify().count} events verified." in text


def test_the_page_is_in_chinese_by_default(district, events, page_for):
    text = page_for(district.supervisor).post("/audit/verify/").content.decode()
    assert f"链条完好：已核验 {len(events)} 条事件。" in text


def test_a_changed_event_is_named_on_the_page(district, events, page_for):
    victim = events[1]
    tamper(("UPDATE tracker_event SET data = '{\"progress\": 99}'::jsonb WHERE id = %s", (victim.pk,)))
    response = page_for(district.inspector, "en").post("/audit/verify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'data-verify="broken"' in text
    assert f"The chain is broken at event {victim.pk} (after 1 good events)" in text
    assert "<html" not in text  # htmx gets the fragment only


def test_a_school_may_not_run_the_check(district, events, page_for):
    client = page_for(district.school_a_user, "en")
    assert client.get("/audit/verify/").status_code == 403
    assert client.post("/audit/verify/").status_code == 403


def test_the_check_is_limited_like_the_apis(district, events, page_for, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"events_verify": "2/min"}}
    client = page_for(district.supervisor, "en")
    assert [client.post("/audit/verify/").status_code for _ in range(3)] == [200, 200, 429]
    assert "try again in a minute" in client.post("/audit/verify/").content.decode()
