"""A school account, by any route of the API, reaches no unpublished case and no full name of a person in
a case (CONTRACT section 9). The walk takes every operation of the OpenAPI schema (so a route added
tomorrow is walked tomorrow) with every id of the world, own and foreign, as both school accounts, after
the notices' notifications went out, and reads every answer: JSON, CSV, XLSX, files, headers.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from tracker import models as m
from tracker.audit.dispatch import event_handle

from .conftest import CASE_PERSONS, World
from .openapi import operations, response_text, sample_body, sample_query, send
from .test_authz_matrix import own_refs

pytestmark = pytest.mark.django_db

SCHOOL_ROLES = ("school_a", "school_other_district")
FULL_NAMES = [name for names in CASE_PERSONS.values() for name in names]
REDACTED = {"school_a": "欧阳某", "school_other_district": "司马某"}  # the published person of each district


def _urls(world: World, op) -> list[str]:
    if not op.is_detail:
        return [op.url()]
    kind = op.resource_kind()
    return [op.url(id=obj.pk) for obj in world.objects if obj.kind == kind]


def test_no_route_gives_a_school_a_full_name_or_an_unpublished_case(world: World) -> None:
    # The notices' notifications, as the worker would send them after the publications.
    for dispatch in m.EventDispatch.objects.filter(event__type="case.published", done_at__isnull=True):
        event_handle(event_id=dispatch.event_id)
    assert m.Notification.objects.filter(kind="notice_published", recipient=world.users["school_a"]).exists()
    unpublished = {
        o.marker
        for o in world.objects
        if o.kind == "case" and o.marker  # the reported cases' summaries
    }
    assert len(unpublished) == 2

    found: list[str] = []
    seen_redacted = dict.fromkeys(SCHOOL_ROLES, False)
    requests = 0
    for role in SCHOOL_ROLES:
        client = APIClient()
        client.force_authenticate(world.users[role])
        refs = own_refs(world, role)
        for op in operations():
            for url in _urls(world, op):
                # Each request in a savepoint rolled back: a school's own writes succeed, and change nothing.
                with transaction.atomic():
                    response = send(client, op, url, body=sample_body(op, refs), query=sample_query(op, refs))
                    text = response_text(response)
                    transaction.set_rollback(True)
                requests += 1
                assert response.status_code < 500, f"{role} {op.label} {url}: {response.status_code}"
                found += [f"{role} {op.label} {url}: full name {n}" for n in FULL_NAMES if n in text]
                found += [f"{role} {op.label} {url}: unpublished case {k}" for k in unpublished if k in text]
                seen_redacted[role] |= REDACTED[role] in text

    print(f"\nschool walk: {requests} requests")
    assert not found, "\n".join(found[:50])
    # Control: the walk did read the notices (and their notifications) the schools are meant to see.
    assert all(seen_redacted.values()), seen_redacted
