"""Ordering a rectification from the case page (/cases/<id>/, CONTRACT section 9's /rectify/)."""

from __future__ import annotations

import pytest

from tests.conftest import FULL_NAMES
from tracker import models as m
from tracker.inspections.case_services import case_create

pytestmark = pytest.mark.django_db

FORM = {"action": "rectify", "description": "李四有偿补课，学校须全面排查。", "rectify_by": "2027-01-31"}


@pytest.mark.parametrize("who", ["inspector", "supervisor"])
def test_the_authority_orders_a_rectification_from_the_case_page(district, casework, page_for, who):
    client = page_for(getattr(district, who), "en")
    url = f"/cases/{casework.reported.pk}/"
    assert 'value="rectify"' in client.get(url).content.decode()

    response = client.post(url, FORM)

    assert response.status_code == 302
    task = m.Task.objects.get(kind="rectification")
    assert (task.school_id, task.requirement) == (district.school_a.pk, "李某有偿补课，学校须全面排查。")
    page = client.get(url).content.decode()
    assert f'href="/tasks/{task.pk}/"' in page
    # The school opens its task; no page it reaches names the person.
    school = page_for(district.school_a_user)
    for path in (f"/tasks/{task.pk}/", "/tasks/?kind=rectification", "/tasks/"):
        body = school.get(path)
        assert body.status_code == 200, path
        assert not [name for name in FULL_NAMES if name in body.content.decode()], path


def test_a_bad_form_is_400_and_writes_nothing(district, casework, page_for):
    client = page_for(district.inspector, "en")
    url = f"/cases/{casework.reported.pk}/"
    assert client.post(url, {**FORM, "description": ""}).status_code == 400
    assert client.post(url, {**FORM, "rectify_by": "2020-01-01"}).status_code == 400
    assert client.post(url, {**FORM, "campaign": "999999"}).status_code == 400
    assert not m.Task.objects.filter(kind="rectification").exists()


def test_no_rectification_for_a_case_without_a_school_or_from_outside(district, casework, page_for):
    no_school = case_create(
        actor=district.inspector,
        authority=district.bureau,
        type="other",
        occurred_on=casework.reported.occurred_on,
        summary="来源不明的举报。",
        persons=[],
    )
    client = page_for(district.inspector, "en")
    assert 'value="rectify"' not in client.get(f"/cases/{no_school.pk}/").content.decode()
    assert client.post(f"/cases/{no_school.pk}/", FORM).status_code == 409
    for user in (district.school_a_user, district.other_supervisor):
        assert page_for(user).post(f"/cases/{casework.reported.pk}/", FORM).status_code == 404
    assert not m.Task.objects.filter(kind="rectification").exists()
