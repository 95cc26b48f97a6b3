"""The Django admin shows rounds, notices and the case access log read-only, and no case at all."""

from __future__ import annotations

import pytest
from django.contrib import admin

from tracker import models as m

pytestmark = pytest.mark.django_db


def test_cases_are_not_in_the_admin_and_the_rest_is_read_only(casework, superuser, client):
    assert not admin.site.is_registered(m.Case)  # a read there would escape the access log
    client.force_login(superuser)
    for model, obj in ((m.Inspection, casework.inspection), (m.Notice, casework.notice)):
        opts = model._meta
        listing = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert listing.status_code == 200
        assert client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 403
        page = client.get(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/")
        assert page.status_code == 200
        assert b'name="_save"' not in page.content  # no save button: read-only
    notice_page = client.get(f"/admin/tracker/notice/{casework.notice.pk}/change/").content.decode()
    assert "张某" in notice_page and "张三" not in notice_page
