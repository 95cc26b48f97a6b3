"""OWASP API2/API4 on logins: one throttle and lock-out policy for every way to log in.

The routes come from the URL conf: the API's token view and every page built on Django's LoginView (the
admin's; the web app's /login/ as soon as it exists), so a login page added later is attacked here too.
The suite's settings raise the limits so that other tests can log in freely; here the production
configuration of config/settings/base.py is put back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from api.auth import TokenView
from config.settings import base
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory's
ADDRESS = "198.51.100.7"
TOKEN_URL = "/api/v1/auth/token/"


def _walk(patterns, prefix: str = "") -> Iterator[tuple[str, object]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def _is_login(callback) -> bool:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if isinstance(view_class, type) and issubclass(view_class, LoginView | TokenView):
        return True
    return getattr(callback, "__func__", None) is AdminSite.login


def login_routes() -> list[str]:
    """Every route of the URL conf that logs a person in."""
    return sorted(
        {
            "/" + route.lstrip("^").rstrip("$")
            for route, callback in _walk(get_resolver().url_patterns)
            if _is_login(callback)
        }
    )


ROUTES = login_routes()


@dataclass
class Attempt:
    status: int
    logged_in: bool
    retry_after: int | None


def attempt(route: str, username: str, password: str, address: str = ADDRESS, **headers: str) -> Attempt:
    """One login on `route` from `address`: JSON for the token view, a form post for login pages."""
    if route == TOKEN_URL:
        response = APIClient().post(
            route, {"username": username, "password": password}, format="json", REMOTE_ADDR=address, **headers
        )
        logged_in = response.status_code == 200 and "token" in response.json()
    else:
        client = Client()
        response = client.post(route, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)
        logged_in = response.status_code == 302 and "_auth_user_id" in client.session
    retry = response.get("Retry-After")
    return Attempt(response.status_code, logged_in, int(retry) if retry else None)


@pytest.fixture(autouse=True)
def production_login_policy(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The login limits of config/settings/base.py, whatever mechanism enforces them."""
    for name in dir(base):
        if name.startswith(("LOGIN_", "AXES_")) or name == "NUM_PROXIES":
            setattr(settings, name, getattr(base, name))
    settings.REST_FRAMEWORK = base.REST_FRAMEWORK
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", base.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}))
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff():
    """An account every login route accepts (the admin's wants staff)."""
    return UserFactory(is_staff=True)


def test_every_way_to_log_in_is_found_and_the_browsable_api_login_is_gone():
    assert TOKEN_URL in ROUTES
    assert "/admin/login/" in ROUTES
    client = Client()
    assert client.post("/api-auth/login/", {"username": "x", "password": "y"}).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_ten_wrong_passwords_then_the_right_one_is_refused(route, staff):
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        result = attempt(route, staff.username, "wrong")
        assert result.status in (200, 400) and not result.logged_in
    locked = attempt(route, staff.username, PASSWORD)
    assert locked.status == 429
    assert not locked.logged_in
    assert 0 < locked.retry_after <= base.LOGIN_LOCKOUT_SECONDS


@pytest.mark.parametrize("route", ROUTES)
def test_the_right_password_after_fewer_failures_logs_in(route, staff):
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME - 1):
        attempt(route, staff.username, "wrong")
    assert attempt(route, staff.username, PASSWORD).logged_in


def test_the_api_answers_a_lock_in_json():
    user = UserFactory()
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        attempt(TOKEN_URL, user.username, "wrong")
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "token" not in response.json()


def test_a_username_is_locked_on_every_route_and_from_every_address(staff):
    """Failures on one route from many addresses lock the username everywhere (a distributed guess)."""
    for n in range(base.LOGIN_FAILURES_PER_USERNAME):
        route = ROUTES[n % len(ROUTES)]
        assert not attempt(route, staff.username, "wrong", address=f"203.0.113.{n}").logged_in
    for route in ROUTES:
        result = attempt(route, staff.username, PASSWORD, address="192.0.2.200")
        assert result.status == 429, route
        assert not result.logged_in


def test_spraying_usernames_from_one_address_locks_the_address(staff):
    for n in range(base.LOGIN_FAILURES_PER_ADDRESS):
        attempt(ROUTES[n % len(ROUTES)], f"guess{n}", "wrong")
    # A username never tried from there, with its right password: the address is spent, on every route.
    for route in ROUTES:
        assert attempt(route, staff.username, PASSWORD).status == 429, route
    # Another address is not affected.
    for route in ROUTES:
        assert attempt(route, staff.username, PASSWORD, address="203.0.113.9").logged_in, route


def test_a_username_spelled_like_an_address_does_not_count_against_that_address(staff):
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME + 1):
        attempt(TOKEN_URL, ADDRESS, "wrong", address="203.0.113.50")
    assert attempt(TOKEN_URL, staff.username, PASSWORD, address=ADDRESS).logged_in


def test_sixty_successful_logins_a_minute_from_one_address_are_never_limited(staff):
    """CONTRACT section 3 (v2): a school office behind one address logs in all morning."""
    started = time.monotonic()
    for route in ROUTES:
        for n in range(61):
            assert attempt(route, staff.username, PASSWORD).logged_in, f"{route}: login {n + 1} refused"
    assert time.monotonic() - started < 60


def test_the_lock_ends_after_the_cool_off_however_long_the_attacker_keeps_trying(settings, staff):
    settings.LOGIN_LOCKOUT_SECONDS = 2
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        attempt(TOKEN_URL, staff.username, "wrong", address="203.0.113.66")
    locked_at = time.monotonic()
    refused = 0
    while time.monotonic() - locked_at < 2.3:  # the attacker goes on, from several addresses
        for route in ROUTES:
            result = attempt(route, staff.username, "wrong", address=f"203.0.113.{67 + refused % 50}")
            refused += result.status == 429
        time.sleep(0.1)
    assert refused > 0
    # The owner gets in as soon as the lock has run its time: the attempts made during it did not extend it.
    while time.monotonic() - locked_at < 2.3:
        time.sleep(0.05)
    assert attempt(TOKEN_URL, staff.username, PASSWORD, address="192.0.2.10").logged_in


def test_a_forged_x_forwarded_for_does_not_reset_the_count(staff):
    """With no proxy of ours in front (NUM_PROXIES=0) the header is the client's own word: ignored."""
    assert base.NUM_PROXIES == 0
    for n in range(base.LOGIN_FAILURES_PER_ADDRESS):
        attempt(TOKEN_URL, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.8.{n}")
    assert attempt(TOKEN_URL, staff.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9").status == 429


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(settings, staff):
    settings.NUM_PROXIES = 1
    proxy = "10.0.0.2"
    for n in range(base.LOGIN_FAILURES_PER_ADDRESS):
        # The client forges a first entry; our proxy appends the address it really came from.
        attempt(TOKEN_URL, f"guess{n}", "wrong", proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, 198.51.100.20")
    assert attempt(TOKEN_URL, staff.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.20").status == 429
    # Another client behind the same proxy logs in.
    assert attempt(TOKEN_URL, staff.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR="198.51.100.21").logged_in


def test_checking_the_old_password_counts_as_a_login(staff):
    """POST /me/password/ with a stolen session or token is no way around the lock."""
    client = APIClient(REMOTE_ADDR=ADDRESS)
    client.force_authenticate(staff)
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        response = client.post("/api/v1/me/password/", {"old_password": "wrong", "new_password": "N3w-passphrase"})
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["old_password"]
    response = client.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": "N3w-passphrase"})
    assert response.status_code == 429
    assert attempt(TOKEN_URL, staff.username, PASSWORD, address="192.0.2.11").status == 429


@pytest.mark.parametrize("route", ROUTES)
def test_logins_stay_up_when_the_cache_is_down(route, staff):
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: nothing answers
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with override_settings(CACHES=dead_redis):
        assert not attempt(route, staff.username, "wrong").logged_in
        assert attempt(route, staff.username, PASSWORD).logged_in


PAGE_ROUTES = [route for route in ROUTES if route != TOKEN_URL]
LOCKOUT_WORDS = {
    "zh-hans": ("登录已暂时锁定", "登录失败次数过多，请在15分钟后重试。", "自{moment}起可再次登录"),
    "en": ("Login locked", "Too many failed login attempts: try again in 15 minute(s).", "works again from {moment}"),
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_a_locked_login_page_is_a_page_of_the_site_in_the_readers_language(route, language, staff, settings):
    """Not a bare English text: the site's page (its base template), 429, Retry-After, and when to retry
    as a moment of TIME_ZONE."""
    assert {"/admin/login/", "/login/"} <= set(PAGE_ROUTES)
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        attempt(route, staff.username, "wrong")
    before = timezone.now()

    response = Client(HTTP_ACCEPT_LANGUAGE=language).post(
        route, {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR=ADDRESS
    )

    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert 0 < int(response["Retry-After"]) <= base.LOGIN_LOCKOUT_SECONDS
    html = response.content.decode()
    assert f'<html lang="{language}">' in html and 'class="topbar"' in html  # web/base.html
    title, detail, retry = LOCKOUT_WORDS[language]
    ends = timezone.localtime(before + timedelta(seconds=int(response["Retry-After"])))
    assert title in html and detail in html
    assert any(retry.format(moment=f"{m:%Y-%m-%d %H:%M}") in html for m in (ends, ends - timedelta(minutes=1)))


def test_the_api_says_it_in_the_readers_language_too(staff):
    for _ in range(base.LOGIN_FAILURES_PER_USERNAME):
        attempt(TOKEN_URL, staff.username, "wrong")
    response = APIClient().post(
        TOKEN_URL,
        {"username": staff.username, "password": PASSWORD},
        REMOTE_ADDR=ADDRESS,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 429
    assert response.json()["detail"].startswith("登录失败次数过多，请在15分钟后重试。")
