"""Django's system checks pass, and the models match their migrations."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


def test_manage_py_check_is_clean():
    out = StringIO()
    call_command("check", "--fail-level", "WARNING", stdout=out, stderr=out)
    assert "System check identified no issues" in out.getvalue()


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()
