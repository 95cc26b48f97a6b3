"""/livez answers from the process alone: no query, no broker, no session."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_livez_answers_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_livez_takes_only_get():
    assert Client().post("/livez").status_code == 405
