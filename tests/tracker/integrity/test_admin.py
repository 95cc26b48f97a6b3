"""The Django admin shows the integrity programme read-only: its writes go through the services only."""

from __future__ import annotations

import pytest

from tests.integrity_support import NOW, D
from tracker import models as m
from tracker.integrity.check_services import check_record
from tracker.integrity.register_services import risk_create

pytestmark = pytest.mark.django_db


def test_the_integrity_models_are_read_only_in_the_admin(integrity, superuser, client):
    d = integrity.d
    campaign = integrity.campaign()
    check = m.Check.objects.filter(campaign=campaign, school=d.school_a).first()
    check_record(
        actor=d.school_a_user,
        check=check,
        result="finding",
        finding={"description": "问题", "rectify_by": NOW + 9 * D},
        now=NOW,
    )
    risk = risk_create(
        actor=d.school_a_user,
        school=d.school_a,
        item=integrity.m1,
        post="leader",
        description="风险",
        level="low",
        measures=["措施"],
        now=NOW,
    )
    client.force_login(superuser)
    for obj in (integrity.m1, risk, risk.register, campaign, check):
        opts = obj._meta
        assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/").status_code == 200
        assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 403
        page = client.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert (
            client.post(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/delete/", {"post": "yes"}).status_code
            == 403
        )
    assert m.Check.objects.filter(pk=check.pk, result="finding").exists()
