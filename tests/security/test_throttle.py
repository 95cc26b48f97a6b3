"""OWASP API4 (resource consumption) on the login endpoint: brute force and password spraying get 429.

The suite's settings raise the login rates so that other tests can log in freely; here the production
defaults of config/settings/base.py are put back. DRF reads the rates into a class attribute at import,
so the attribute itself is patched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from api.auth import IpLoginThrottle, LoginThrottle, TokenView
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory's
PER_USERNAME = 10  # base.py: THROTTLE_LOGIN default 10/min
PER_ADDRESS = 30  # base.py: THROTTLE_LOGIN_IP default 30/min
URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def production_rates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"login": f"{PER_USERNAME}/min", "login_ip": f"{PER_ADDRESS}/min"}
    )
    cache.clear()
    yield
    cache.clear()


def login(username: str, password: str, address: str = "198.51.100.7", **headers: str):
    return APIClient().post(URL, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def test_login_view_counts_per_address_and_per_username() -> None:
    assert set(TokenView.throttle_classes) == {IpLoginThrottle, LoginThrottle}


def test_ten_wrong_passwords_then_the_right_one_is_throttled() -> None:
    user = UserFactory()
    for _ in range(PER_USERNAME):
        assert login(user.username, "wrong").status_code == 400
    response = login(user.username, PASSWORD)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert "token" not in response.json()


def test_the_right_password_first_time_is_not_throttled() -> None:
    user = UserFactory()
    for _ in range(PER_USERNAME - 1):
        login(user.username, "wrong")
    response = login(user.username, PASSWORD)
    assert response.status_code == 200
    assert response.json()["token"]


def test_spraying_other_usernames_from_one_address_is_throttled_per_address() -> None:
    user = UserFactory()
    for n in range(PER_ADDRESS):
        assert login(f"guess{n}", "wrong").status_code == 400
    # A username never tried from there, with its right password: the address is spent.
    assert login(user.username, PASSWORD).status_code == 429
    # Another address is not affected.
    assert login(user.username, PASSWORD, address="203.0.113.9").status_code == 200


def test_a_forged_x_forwarded_for_does_not_reset_the_counter() -> None:
    """With no proxy of ours in front (NUM_PROXIES=0) the header is the client's own word: ignored."""
    assert api_settings.NUM_PROXIES == 0
    user = UserFactory()
    for n in range(PER_USERNAME):
        assert login(user.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.9.8.{n}").status_code == 400
    assert login(user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended() -> None:
    rest = {**api_settings.user_settings, "NUM_PROXIES": 1}
    with override_settings(REST_FRAMEWORK=rest):
        user = UserFactory()
        proxy = "10.0.0.2"
        for n in range(PER_USERNAME):
            # The client forges a first entry; our proxy appends the address it really came from.
            status = login(user.username, "wrong", proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.20").status_code
            assert status == 400
        assert login(user.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.20").status_code == 429
        # Another client behind the same proxy logs in.
        assert login(user.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.21").status_code == 200


def test_login_stays_up_when_the_throttle_cache_is_down() -> None:
    user = UserFactory()
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=dead_redis):
        response = login(user.username, PASSWORD)
    assert response.status_code == 200
    assert response.json()["token"]
