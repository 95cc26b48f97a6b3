"""No path around the services in the Django admin (CONTRACT section 2; issue 13, item 7): a superuser
once set a task to approved with a score above the maximum, no event recorded, and verify_events still
said ok. Statuses, scores, due times and flags are read-only there; what may be done goes through admin
actions that call the services and record their events."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from knox.models import AuthToken

from tests.factories import EvidenceFactory
from tracker import models as m
from tracker.admin_accounts import AccountAdmin
from tracker.admin_base import ServiceFormAdmin
from tracker.assessment.task_services import task_submit
from tracker.audit.events import events_verify

pytestmark = pytest.mark.django_db

# Fields whose every change must be a service's (and so an event's).
GUARDED = {
    "status",
    "score",
    "deductions",
    "late_penalty",
    "due_at",
    "has_own_due",
    "original_due_at",
    "severity",
    "escalated_at",
    "resolved_at",
    "respond_by",
    "responded_at",
    "submitted_at",
    "reviewed_at",
    "max_score",
}


def change_url(obj: models.Model) -> str:
    opts = obj._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/"


def test_no_admin_can_change_or_add_a_guarded_field(rf, superuser):
    """Every model of the admin holding a guarded field: no add, no change (actions only)."""
    request = rf.get("/admin/")
    request.user = superuser
    checked = []
    for model, model_admin in admin.site._registry.items():
        names = {f.name for f in model._meta.get_fields()}
        if names & GUARDED:
            checked.append(model.__name__)
            assert not model_admin.has_change_permission(request), model.__name__
            assert not model_admin.has_add_permission(request), model.__name__
            assert not model_admin.has_delete_permission(request), model.__name__
    assert {"Task", "Flag", "Cycle", "Criterion", "Urge"} <= set(checked)


def test_a_superuser_cannot_approve_a_task_by_editing_it(district, task_a, superuser, client):
    client.force_login(superuser)
    events = m.Event.objects.count()
    form = {"status": "approved", "score": "99.99", "cycle": district.cycle.pk, "criterion": district.criterion.pk}

    response = client.post(change_url(task_a), {**form, "school": district.school_a.pk, "due_at_0": "2026-06-30"})

    assert response.status_code == 403
    task_a.refresh_from_db()
    assert (task_a.status, task_a.score) == ("not_started", None)
    assert m.Event.objects.count() == events
    page = client.get(change_url(task_a))
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_flags_cannot_be_edited_or_deleted_in_the_admin(district, superuser, client):
    flag = m.Flag.objects.create(
        cycle=district.cycle,
        school=district.school_a,
        severity="warning",
        overdue_count=1,
        opened_at=datetime.now(ZoneInfo("UTC")),
    )
    client.force_login(superuser)
    assert client.post(change_url(flag), {"severity": "critical"}).status_code == 403
    assert client.post(f"/admin/tracker/flag/{flag.pk}/delete/", {"post": "yes"}).status_code == 403
    flag.refresh_from_db()
    assert flag.severity == "warning"


def act(client, model: str, action: str, objs, HTTP_ACCEPT_LANGUAGE: str = "zh-hans", **fields):
    data = {"action": action, "_selected_action": [o.pk for o in objs], "index": 0, **fields}
    return client.post(f"/admin/tracker/{model}/", data, follow=True, HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE)


def test_approving_in_the_admin_goes_through_the_service(district, task_a, superuser, client):
    EvidenceFactory(task=task_a)
    task_submit(task=task_a, actor=district.school_a_user, now=datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")))
    client.force_login(superuser)

    response = act(client, "task", "approve", [task_a], reason="fine work")

    assert response.status_code == 200
    task_a.refresh_from_db()
    assert task_a.status == "approved"
    assert task_a.score == district.criterion.max_score  # on time, no deductions: by the rules, never above
    event = m.Event.objects.get(type="task.approved", task=task_a)
    assert event.actor == superuser and event.data["comment"] == "fine work"
    assert events_verify().ok


def test_extending_in_the_admin_goes_through_the_service(district, task_a, superuser, client):
    client.force_login(superuser)

    act(client, "task", "extend", [task_a], due_on="2030-07-15", reason="flood")

    task_a.refresh_from_db()
    assert task_a.due_at == datetime(2030, 7, 15, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert m.Event.objects.get(type="task.extended", task=task_a).data["reason"] == "flood"


def test_an_action_the_state_refuses_changes_nothing_and_says_so(district, task_a, superuser, client):
    client.force_login(superuser)

    response = act(client, "task", "approve", [task_a], HTTP_ACCEPT_LANGUAGE="en")

    assert "Refused" in response.content.decode()
    task_a.refresh_from_db()
    assert task_a.status == "not_started"
    assert not m.Event.objects.filter(type="task.approved").exists()


def test_activating_and_closing_a_cycle_in_the_admin_go_through_the_services(district, superuser, client):
    draft = m.Cycle.objects.create(
        authority=district.bureau, name="draft", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31)
    )
    m.Criterion.objects.create(
        cycle=draft, code="X1", title="t", category="c", due_at=district.criterion.due_at, max_score=5
    )
    client.force_login(superuser)

    act(client, "cycle", "activate", [draft])
    draft.refresh_from_db()
    assert draft.status == "active"
    assert m.Event.objects.get(type="cycle.activated", cycle=draft).data["tasks_created"] == 2

    act(client, "cycle", "close", [draft])
    draft.refresh_from_db()
    assert draft.status == "closed"
    assert m.Event.objects.filter(type="cycle.closed", cycle=draft).exists()


# --- Units and webhooks: added, changed and removed through their services (issue 13, item 7) ----------
def test_every_admin_of_the_domain_that_writes_goes_through_services(rf, superuser):
    """Over the registry: a domain model's admin page that may add, change or delete is a ServiceFormAdmin
    (its writes are service calls); every other is read-only."""
    request = rf.get("/admin/")
    request.user = superuser
    writers = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "tracker":
            continue
        may_write = (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
        if may_write:
            assert isinstance(model_admin, ServiceFormAdmin), model.__name__
            writers.append(model.__name__)
    assert sorted(writers) == ["Unit", "Webhook"]
    membership = admin.site._registry[m.Membership]
    assert not membership.has_change_permission(request) and not membership.has_add_permission(request)


def test_adding_and_changing_a_unit_in_the_admin_records_its_events(district, superuser, client):
    client.force_login(superuser)

    added = client.post("/admin/tracker/unit/add/", {"name": "第三中学", "code": "S3", "kind": "school", "parent": ""})
    assert added.status_code == 302
    unit = m.Unit.objects.get(code="S3")
    created = m.Event.objects.get(type="unit.created", subject_id=str(unit.pk))
    assert created.actor == superuser and created.data["name"] == "第三中学"

    body = {"name": "第三中学(新)", "code": "S3", "kind": "school", "parent": district.bureau.pk}
    changed = client.post(change_url(unit), body)
    assert changed.status_code == 302
    unit.refresh_from_db()
    assert (unit.name, unit.parent_id) == ("第三中学(新)", district.bureau.pk)
    updated = m.Event.objects.get(type="unit.updated", subject_id=str(unit.pk))
    assert updated.data["changed"] == {"name": "第三中学(新)", "parent": district.bureau.pk}
    assert events_verify().ok


def test_the_admin_shows_a_units_refusal_beside_its_field_and_changes_nothing(district, superuser, client):
    client.force_login(superuser)
    events = m.Event.objects.count()
    school = district.school_a
    body = {"name": school.name, "code": school.code, "kind": "school", "parent": district.school_b.pk}

    response = client.post(change_url(school), body, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "The parent must be an authority" in response.content.decode()
    school.refresh_from_db()
    assert school.parent_id == district.bureau.pk
    assert m.Event.objects.count() == events
    assert client.post(f"/admin/tracker/unit/{school.pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/tracker/unit/add/", {"name": "第三\x0b中学", "code": "S3", "kind": "school", "parent": ""}),
        ("/admin/tracker/unit/add/", {"name": "第三中学", "code": "S3\r\nX", "kind": "school", "parent": ""}),
        ("/admin/tracker/webhook/add/", {"url": "https://93.184.215.14/h", "secret": "s\x1bs", "active": "on"}),
    ],
)
def test_the_admin_refuses_control_characters(district, superuser, client, settings, path, body):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    client.force_login(superuser)
    events = m.Event.objects.count()
    if "webhook" in path:
        body = {**body, "unit": district.bureau.pk}

    response = client.post(path, body, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "without control characters" in response.content.decode()
    assert not m.Unit.objects.filter(code__startswith="S3").exists()
    assert not m.Webhook.objects.exists()
    assert m.Event.objects.count() == events


def test_a_webhook_added_changed_and_removed_in_the_admin_records_each_event(district, superuser, client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    client.force_login(superuser)
    body = {"unit": district.bureau.pk, "url": "https://93.184.215.14/hook", "secret": "s" * 32, "active": "on"}

    assert client.post("/admin/tracker/webhook/add/", body).status_code == 302
    hook = m.Webhook.objects.get()
    assert m.Event.objects.get(type="webhook.created", subject_id=str(hook.pk)).actor == superuser

    inward = client.post(change_url(hook), {**body, "url": "http://127.0.0.1/hook"})
    assert inward.status_code == 200  # refused beside the field: an internal target
    hook.refresh_from_db()
    assert hook.url == "https://93.184.215.14/hook"

    assert client.post(change_url(hook), {**body, "active": ""}).status_code == 302
    hook.refresh_from_db()
    assert hook.active is False
    assert m.Event.objects.get(type="webhook.updated", subject_id=str(hook.pk)).data["changed"] == {"active": False}

    assert client.post(f"/admin/tracker/webhook/{hook.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not m.Webhook.objects.exists()
    assert m.Event.objects.filter(type="webhook.deleted", subject_id=str(hook.pk)).count() == 1
    assert events_verify().ok


def test_removing_webhooks_in_bulk_in_the_admin_records_an_event_each(district, superuser, client):
    hooks = [
        m.Webhook.objects.create(unit=district.bureau, url=f"https://93.184.215.14/{n}", secret="s") for n in (1, 2)
    ]
    client.force_login(superuser)

    act(client, "webhook", "delete_selected", hooks, post="yes")

    assert not m.Webhook.objects.exists()
    deleted = m.Event.objects.filter(type="webhook.deleted").values_list("subject_id", flat=True)
    assert sorted(deleted) == sorted(str(hook.pk) for hook in hooks)
    assert events_verify().ok


# --- Accounts: Django's user admin records every change ---------------------------------------------------
# The admin pages outside the domain that may write, and why they need no event: an API token's removal is
# its revocation (the owner logs in again); the beat schedule is editable in the admin by CONTRACT section 2;
# permission groups are the admin's own.
NOT_DOMAIN = {"knox.AuthToken", "django_celery_beat", "auth.Group"}


def test_every_admin_that_writes_records_events_or_is_not_the_domains(rf, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    unaccounted = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        may_write = model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
        recorded = isinstance(model_admin, ServiceFormAdmin | AccountAdmin)
        if may_write and not recorded and label not in NOT_DOMAIN and model._meta.app_label not in NOT_DOMAIN:
            unaccounted.append(label)
    assert not unaccounted
    assert isinstance(admin.site._registry[get_user_model()], AccountAdmin)


def account_form(client, user, **changes) -> dict:
    """The user admin's change form as a browser posts it: its fields with their values, then `changes`."""
    user.date_joined = user.date_joined.replace(microsecond=0)  # as the form's two fields can say it
    user.save(update_fields=["date_joined"])
    page = client.get(change_url(user))
    skip = ("groups", "user_permissions", "password", "date_joined", "last_login")
    body = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None and k not in skip}
    joined = timezone.localtime(user.date_joined)
    when = {"date_joined_0": f"{joined:%Y-%m-%d}", "date_joined_1": f"{joined:%H:%M:%S}"}
    # Hidden initial values included (a field with a callable default has one).
    body.update(when, **{f"initial-{k}": v for k, v in when.items()}, last_login_0="", last_login_1="")
    return {**body, **changes}


def test_an_account_added_changed_and_given_a_password_in_the_admin_records_each_event(superuser, client):
    client.force_login(superuser)
    new_password = "Adm1n-set-passphrase"
    added = client.post(
        "/admin/auth/user/add/",
        {"username": "newhead", "usable_password": "true", "password1": new_password, "password2": new_password},
    )
    assert added.status_code == 302
    user = get_user_model().objects.get(username="newhead")
    created = m.Event.objects.get(type="account.created", subject_id=str(user.pk))
    assert created.actor == superuser and created.data["via"] == "admin"
    token = AuthToken.objects.create(user=user)[1]

    body = account_form(client, user, is_active="", email="head@example.org")
    changed = client.post(change_url(user), body)
    assert changed.status_code == 302, changed.content[:2000]
    user.refresh_from_db()
    assert (user.is_active, user.email) == (False, "head@example.org")
    updated = m.Event.objects.get(type="account.updated", subject_id=str(user.pk))
    assert updated.data["changed"] == {"email": "head@example.org", "is_active": False}
    assert not AuthToken.objects.filter(user=user).exists(), token  # a deactivation revokes the tokens

    reset = client.post(
        f"/admin/auth/user/{user.pk}/password/", {"password1": "An0ther-passphrase", "password2": "An0ther-passphrase"}
    )
    assert reset.status_code == 302
    user.refresh_from_db()
    assert user.check_password("An0ther-passphrase")
    assert m.Event.objects.get(type="account.password_changed", subject_id=str(user.pk)).actor == superuser
    assert client.post(f"/admin/auth/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert events_verify().ok


def test_a_refused_password_in_the_admin_changes_nothing_and_records_nothing(district, superuser, client):
    client.force_login(superuser)
    user = district.school_a_user
    events = m.Event.objects.count()
    response = client.post(f"/admin/auth/user/{user.pk}/password/", {"password1": "123", "password2": "123"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password("pw-Secret-123")
    assert m.Event.objects.count() == events


def test_an_account_name_with_a_control_character_is_refused_in_the_admin(district, superuser, client):
    client.force_login(superuser)
    user = district.school_a_user
    events = m.Event.objects.count()

    response = client.post(
        change_url(user), account_form(client, user, last_name="王\x0b五"), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert "without control characters" in response.content.decode()
    user.refresh_from_db()
    assert user.last_name == ""
    assert m.Event.objects.count() == events
