"""Page clients: Django's test client logged in as a user (the session login the pages use)."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def page_for():
    """page_for(user, language=None) -> a Client logged in as that user (anonymous for None).

    Without `language` the request carries no Accept-Language: the page is in LANGUAGE_CODE (zh-hans).
    """

    def make(user, language: str | None = None) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE=language) if language else Client()
        if user is not None:
            client.force_login(user)
        return client

    return make
