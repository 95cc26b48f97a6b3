"""A full build of the flat overview keeps its document and the parts to patch it after the response is
sent (config.middleware.after_response), never before; a failure while keeping costs only the keeping."""

from __future__ import annotations

import logging

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpResponse
from django.test import RequestFactory
from freezegun import freeze_time

from config.middleware import after_response
from tests.api import test_overview_kept
from tests.tracker.reporting.test_dashboards import NOW
from tests.tracker.reporting.test_overview_patch import forget_kept
from tracker import models as m
from tracker.assessment.task_services import task_submit
from tracker.monitoring.rollups import rollups_flush
from tracker.reporting import overview_cache, overview_patch
from tracker.reporting.overview import overview_schools

pytestmark = pytest.mark.django_db

OVERVIEW = test_overview_kept.OVERVIEW
province = test_overview_kept.province  # the fixture: the five schools, their rollups rebuilt


@pytest.fixture
def spied(monkeypatch) -> dict[str, list]:
    """What was kept as parts, and what each patch and full build returned."""
    seen: dict[str, list] = {"parts": [], "patched": [], "built": []}
    keep_parts, patch, build = overview_cache.keep_parts, overview_patch.patch, overview_patch.build

    def keep_parts_spy(key, value, **kwargs):
        seen["parts"].append(key)
        keep_parts(key, value, **kwargs)

    def patch_spy(**kwargs):
        seen["patched"].append(patch(**kwargs))
        return seen["patched"][-1]

    def build_spy(**kwargs):
        seen["built"].append(build(**kwargs))
        return seen["built"][-1]

    monkeypatch.setattr(overview_cache, "keep_parts", keep_parts_spy)
    monkeypatch.setattr(overview_patch, "patch", patch_spy)
    monkeypatch.setattr(overview_patch, "build", build_spy)
    return seen


@freeze_time(NOW)
def test_a_full_build_keeps_its_parts_only_once_the_response_is_closed(province):
    cycle = province.cycle

    def view(request):
        return HttpResponse(overview_schools(cycle=cycle, roots=[cycle.authority_id], now=NOW).rows_json_bytes)

    key = overview_cache.cache_key(cycle_id=cycle.pk, unit_id=None, roots=[cycle.authority_id])
    forget_kept()
    # when the response is returned by the middleware, its body written
    response = after_response(view)(RequestFactory().get("/"))
    body = response.content
    # then nothing is kept yet, and everything is once it is closed
    assert overview_cache.parts(key) is None
    request_finished.disconnect(close_old_connections)  # as the test client does: keep the test's connection
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert overview_cache.parts(key) is not None
    assert overview_cache.cached(key=key, cycle_id=cycle.pk, now=NOW).kept[1] == body


@freeze_time(NOW)
def test_after_a_full_build_over_http_the_parts_are_kept_and_the_next_write_is_patched(province, client_for, spied):
    client = client_for(province.province_supervisor)
    first = client.get(OVERVIEW, {"cycle": province.cycle.pk})
    assert first.status_code == 200
    assert len(spied["built"]) == 1
    assert len(spied["parts"]) == 1

    # when a school's task is written and flushed
    task = m.Task.objects.get(cycle=province.cycle, school=province.s4, criterion=province.k3)
    m.Criterion.objects.filter(pk=province.k3.pk).update(min_evidence=0)
    task_submit(task=task, actor=province.province_supervisor, now=NOW)
    rollups_flush(now=NOW)
    second = client.get(OVERVIEW, {"cycle": province.cycle.pk})

    # then the kept document is patched, not built again
    assert second.status_code == 200
    assert len(spied["built"]) == 1
    assert spied["patched"] and spied["patched"][-1] is not None
    assert second.content != first.content


@freeze_time(NOW)
def test_a_failure_while_keeping_the_parts_does_not_touch_the_response(province, client_for, monkeypatch, caplog):
    client = client_for(province.province_supervisor)
    expected = client.get(OVERVIEW, {"cycle": province.cycle.pk}).content
    forget_kept()

    def failing(key, value, **kwargs):
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(overview_cache, "keep_parts", failing)
    # when the parts cannot be kept
    with caplog.at_level(logging.ERROR, logger="tracker.reporting.after_response"):
        response = client.get(OVERVIEW, {"cycle": province.cycle.pk})
    # then the response is the same document, and the failure is logged
    assert response.status_code == 200
    assert response.content == expected
    assert "work after the response failed" in caplog.text
