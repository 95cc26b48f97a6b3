"""A person's own account: e-mail and language (PATCH /me/), password (POST /me/password/), and the life of
API tokens: hashed at rest, expiring when idle and at a maximum age, revoked by a password change or a
deactivation whatever the path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from freezegun import freeze_time
from knox.models import AuthToken
from rest_framework.test import APIClient

from tracker import models as m

# `sqlite`: bin/test runs these again on SQLite, the embedded demo's database.
pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PASSWORD = "pw-Secret-123"
NEW_PASSWORD = "Lantern-harbour-42"
User = get_user_model()


def login(username: str, password: str = PASSWORD):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- PATCH /me/ -----------------------------------------------------------------------------------------
def test_a_person_changes_their_email_and_language(district, client_for):
    user = district.school_a_user
    response = client_for(user).patch("/api/v1/me/", {"email": "a@school.example.org", "language": "en"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "a@school.example.org"
    assert response.json()["language"] == "en"
    user.refresh_from_db()
    assert user.email == "a@school.example.org"
    assert set(m.Membership.objects.filter(user=user).values_list("language", flat=True)) == {"en"}
    assert client_for(user).get("/api/v1/me/").json()["language"] == "en"
    event = m.Event.objects.get(type="account.updated")
    assert event.actor == user and event.data == {"changed": {"email": "a@school.example.org", "language": "en"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"email": "not an address"}, "email"),
        ({"username": "root"}, "username"),
        ({"is_superuser": True}, "is_superuser"),
    ],
)
def test_me_refuses_bad_or_foreign_fields(district, client_for, body, field):
    response = client_for(district.school_a_user).patch("/api/v1/me/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not User.objects.filter(is_superuser=True).exists()


# --- POST /me/password/ -----------------------------------------------------------------------------------
def test_changing_the_password_revokes_every_token_of_the_user(district):
    user = district.supervisor
    first, second = login(user.username).json()["token"], login(user.username).json()["token"]
    bystander = login(district.inspector.username).json()["token"]

    response = token_client(first).post(
        "/api/v1/me/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204
    assert token_client(first).get("/api/v1/me/").status_code == 401
    assert token_client(second).get("/api/v1/me/").status_code == 401
    assert token_client(bystander).get("/api/v1/me/").status_code == 200
    assert login(user.username).status_code == 400
    assert login(user.username, NEW_PASSWORD).status_code == 200
    event = m.Event.objects.get(type="account.password_changed")
    assert event.actor == user
    assert PASSWORD not in str(event.data) and NEW_PASSWORD not in str(event.data)


def test_a_session_that_changes_the_password_stays_logged_in(district):
    client = APIClient()
    assert client.login(username=district.supervisor.username, password=PASSWORD)
    response = client.post("/api/v1/me/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert client.get("/api/v1/me/").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"old_password": "wrong", "new_password": NEW_PASSWORD}, "old_password"),
        ({"old_password": PASSWORD, "new_password": "12345678"}, "new_password"),  # numeric, common
        ({"old_password": PASSWORD, "new_password": "short"}, "new_password"),
        ({"old_password": PASSWORD}, "new_password"),
        ({"old_password": PASSWORD, "new_password": NEW_PASSWORD, "user": 1}, "user"),
    ],
)
def test_a_bad_password_change_is_refused_and_changes_nothing(district, client_for, body, field):
    user = district.supervisor
    token = login(user.username).json()["token"]

    response = token_client(token).post("/api/v1/me/password/", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert token_client(token).get("/api/v1/me/").status_code == 200


def test_password_change_needs_a_login(db):
    response = APIClient().post("/api/v1/me/password/", {"old_password": "a", "new_password": "b"})
    assert response.status_code == 401


@pytest.mark.parametrize("how", ["set_password", "deactivate"])
def test_tokens_die_whatever_path_changes_the_password_or_deactivates(district, how):
    """The admin, `manage.py changepassword`, a script: all of them end in User.save()."""
    user = district.school_a_user
    token = login(user.username).json()["token"]
    if how == "set_password":
        user.set_password(NEW_PASSWORD)
    else:
        user.is_active = False
    user.save()

    assert not AuthToken.objects.filter(user=user).exists()
    assert token_client(token).get("/api/v1/me/").status_code == 401


def test_saving_a_user_without_touching_credentials_keeps_the_tokens(district):
    user = district.school_a_user
    token = login(user.username).json()["token"]
    user.first_name = "Li"
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert token_client(token).get("/api/v1/me/").status_code == 200


# --- Token life -------------------------------------------------------------------------------------------
def test_tokens_are_stored_hashed(district):
    token = login(district.supervisor.username).json()["token"]
    stored = AuthToken.objects.get(user=district.supervisor)
    assert token not in (stored.digest, stored.token_key)
    assert len(stored.digest) == 128


def test_a_token_expires_after_the_idle_time_but_not_while_in_use(district):
    idle = timedelta(minutes=settings.API_TOKEN_IDLE_MINUTES)
    start = timezone.now()
    with freeze_time(start):
        token = login(district.supervisor.username).json()["token"]
    # Used a little before each idle period ends: it lives on, three idle periods and more.
    for n in range(1, 4):
        with freeze_time(start + n * (idle - timedelta(minutes=5))):
            assert token_client(token).get("/api/v1/me/").status_code == 200, n
    last_use = start + 3 * (idle - timedelta(minutes=5))
    with freeze_time(last_use + idle + timedelta(minutes=2)):
        assert token_client(token).get("/api/v1/me/").status_code == 401


def test_a_token_in_constant_use_still_ends_at_its_maximum_age(district):
    start = timezone.now()
    with freeze_time(start):
        token = login(district.supervisor.username).json()["token"]
    step = timedelta(minutes=settings.API_TOKEN_IDLE_MINUTES) - timedelta(minutes=5)
    max_age = timedelta(days=settings.API_TOKEN_MAX_DAYS)
    moment = start + step
    while moment < start + max_age:
        with freeze_time(moment):
            assert token_client(token).get("/api/v1/me/").status_code == 200, moment - start
        moment += step
    with freeze_time(start + max_age + timedelta(minutes=1)):
        assert token_client(token).get("/api/v1/me/").status_code == 401


def test_logging_in_again_and_again_keeps_only_the_newest_tokens(district):
    tokens = [login(district.supervisor.username).json()["token"] for _ in range(settings.API_TOKENS_PER_USER + 3)]
    assert AuthToken.objects.filter(user=district.supervisor).count() == settings.API_TOKENS_PER_USER
    assert token_client(tokens[-1]).get("/api/v1/me/").status_code == 200
    assert token_client(tokens[0]).get("/api/v1/me/").status_code == 401


def test_an_expired_token_is_refused_and_deleted_when_presented(district):
    start = timezone.now()
    with freeze_time(start):
        token = login(district.supervisor.username).json()["token"]
    with freeze_time(start + timedelta(minutes=settings.API_TOKEN_IDLE_MINUTES + 1)):
        assert token_client(token).get("/api/v1/me/").status_code == 401
    assert not AuthToken.objects.filter(user=district.supervisor).exists()


def test_a_login_deletes_the_users_expired_tokens(district):
    start = timezone.now()
    with freeze_time(start):
        login(district.supervisor.username)
    with freeze_time(start + timedelta(minutes=settings.API_TOKEN_IDLE_MINUTES + 1)):
        fresh = login(district.supervisor.username).json()["token"]
        assert AuthToken.objects.filter(user=district.supervisor).count() == 1
        assert token_client(fresh).get("/api/v1/me/").status_code == 200
