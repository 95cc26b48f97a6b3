"""The web twin of test_case_names_never_reach_schools: a school account, on any page of the web app,
reads no full name of a person in a case and no unpublished case (CONTRACT section 9).

The walk takes every route of web/urls.py (so a page added tomorrow is walked tomorrow), with every id of
the world for the routes that take one, as both school accounts, after the notices' notifications went
out, in both languages, and reads every answer.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern

from tracker import models as m
from tracker.audit.dispatch import event_handle
from web import urls as web_urls

from .conftest import CASE_PERSONS, World

pytestmark = pytest.mark.django_db

SCHOOL_ROLES = ("school_a", "school_other_district")
FULL_NAMES = [name for names in CASE_PERSONS.values() for name in names]
REDACTED = {"school_a": "欧阳某", "school_other_district": "司马某"}  # the published person of each district
SKIP = {"logout"}  # a POST that ends the session; it shows nothing


def _paths(world: World) -> list[str]:
    ids = sorted({obj.pk for obj in world.objects})
    paths = []
    for pattern in web_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in SKIP:
            continue
        route = "/" + str(pattern.pattern)
        if "<int:pk>" in route:
            paths += [route.replace("<int:pk>", str(pk)) for pk in ids]
        else:
            paths.append(route)
    return paths


def test_no_page_gives_a_school_a_full_name_or_an_unpublished_case(world: World) -> None:
    for dispatch in m.EventDispatch.objects.filter(event__type="case.published", done_at__isnull=True):
        event_handle(event_id=dispatch.event_id)
    unpublished = {o.marker for o in world.objects if o.kind == "case" and o.marker}
    assert len(unpublished) == 2
    paths = _paths(world)
    assert {"/cases/", "/notices/", "/inspections/"} <= set(paths)

    found: list[str] = []
    seen_redacted = dict.fromkeys(SCHOOL_ROLES, False)
    statuses: set[int] = set()
    for role in SCHOOL_ROLES:
        for language in ("zh-hans", "en"):
            client = Client(HTTP_ACCEPT_LANGUAGE=language)
            client.force_login(world.users[role])
            for path in paths:
                response = client.get(path)
                statuses.add(response.status_code)
                assert response.status_code < 500, f"{role} {path}: {response.status_code}"
                text = response.content.decode()
                found += [f"{role} {path}: full name {n}" for n in FULL_NAMES if n in text]
                found += [f"{role} {path}: unpublished case {k}" for k in unpublished if k in text]
                seen_redacted[role] |= REDACTED[role] in text

    assert not found, "\n".join(found[:50])
    assert not m.CaseRead.objects.filter(reader__in=[world.users[r] for r in SCHOOL_ROLES]).exists()
    # Control: the walk did read the notices the schools are meant to see, and reached real pages.
    assert all(seen_redacted.values()), seen_redacted
    assert 200 in statuses and 404 in statuses
