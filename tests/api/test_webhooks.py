"""Webhooks: managed per unit by supervisors; Standard-Webhooks signatures; internal targets refused
at save and at send; retried with the same id, then marked failed and visible."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from tracker import models as m
from tracker.monitoring.sweep import sweep_run
from tracker.notify.deliveries import backoff_seconds, delivery_attempt
from tracker.notify.services import webhook_create
from tracker.notify.webhook_http import UnsafeTarget, signature, target_check

pytestmark = pytest.mark.django_db

DUE = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)


class Receiver:
    """A loopback HTTP server answering the given statuses in turn (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(code)
                if code in (301, 302, 307):
                    self.send_header("location", "http://127.0.0.1:1/elsewhere")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def allow_private(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_BASE_SECONDS = 1
    return settings


@pytest.fixture
def no_flags(district):
    """Only the task reminders: the district's cycle does not flag one overdue task."""
    m.Cycle.objects.filter(pk=district.cycle.pk).update(warning_overdue_tasks=5, critical_overdue_tasks=5)
    return district


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == f"v1,{expected}"


# --- Signing and target checks --------------------------------------------------------------------
def test_signature_matches_the_standard_webhooks_test_vector():
    got = signature(
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        body=b'{"test": 2432232314}',
    )
    assert got == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


INTERNAL = [
    "http://127.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::]/hook",
    "http://[2002:7f00:1::]/hook",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_targets_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    with pytest.raises(UnsafeTarget):
        target_check(url)


@pytest.mark.parametrize(
    "url",
    ["ftp://93.184.215.14/x", "http://user:pw@93.184.215.14/x", "http:///x", "http://[::1/x", "javascript:alert(1)"],
)
def test_malformed_or_non_http_targets_are_refused(url):
    with pytest.raises(UnsafeTarget):
        target_check(url)


def test_a_public_address_passes_the_check_without_any_connection(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    target = target_check("https://93.184.215.14:8443/hooks?x=1")
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/hooks?x=1")


def test_the_setting_allows_private_targets(allow_private):
    assert target_check("http://127.0.0.1:9/hook").address == "127.0.0.1"


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    settings.WEBHOOK_RETRY_MAX_SECONDS = 60
    for attempt, step in [(1, 10), (2, 20), (3, 40), (4, 60), (9, 60)]:
        delays = {backoff_seconds(attempt) for _ in range(20)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 1  # jittered


# --- The API --------------------------------------------------------------------------------------
def test_a_supervisor_creates_a_webhook_and_sees_the_secret_once(district, client_for, allow_private):
    client = client_for(district.supervisor)

    created = client.post(
        "/api/v1/webhooks/", {"unit": district.school_a.pk, "url": "http://127.0.0.1:9/hook"}, format="json"
    )

    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    shown = client.get(f"/api/v1/webhooks/{body['id']}/").json()
    assert "secret" not in shown
    assert [w["id"] for w in client.get("/api/v1/webhooks/").json()["results"]] == [body["id"]]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "http://0x7f000001/x", "http://[::1]/x", "http://10.0.0.5/x"]
)
def test_internal_urls_are_refused_at_save_with_400(district, client_for, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    client = client_for(district.supervisor)

    answer = client.post("/api/v1/webhooks/", {"unit": district.school_a.pk, "url": url}, format="json")

    assert answer.status_code == 400
    assert "url" in str(answer.json())
    assert not m.Webhook.objects.exists()


def test_changing_the_url_to_an_internal_one_is_refused(district, client_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    hook = webhook_create(actor=district.supervisor, unit=district.school_a, url="http://127.0.0.1:9/ok")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    answer = client_for(district.supervisor).patch(
        f"/api/v1/webhooks/{hook.pk}/", {"url": "http://169.254.169.254/"}, format="json"
    )

    assert answer.status_code == 400
    hook.refresh_from_db()
    assert hook.url == "http://127.0.0.1:9/ok"


def test_webhooks_are_scoped_to_the_supervisors_units(district, client_for, allow_private):
    theirs = webhook_create(actor=district.other_supervisor, unit=district.other_school, url="http://127.0.0.1:9/x")
    mine = webhook_create(actor=district.supervisor, unit=district.school_a, url="http://127.0.0.1:9/y")
    client = client_for(district.supervisor)

    assert client.get(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/webhooks/{theirs.pk}/", {"active": False}, format="json").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/webhooks/{theirs.pk}/deliveries/").status_code == 404
    answer = client.post(
        "/api/v1/webhooks/", {"unit": district.other_school.pk, "url": "http://127.0.0.1:9/z"}, format="json"
    )
    assert answer.status_code == 400
    assert [w["id"] for w in client.get("/api/v1/webhooks/").json()["results"]] == [mine.pk]
    # a school account or an inspector does not manage webhooks
    for user in (district.school_a_user, district.inspector):
        assert client_for(user).get("/api/v1/webhooks/").status_code == 403
        assert client_for(user).get(f"/api/v1/webhooks/{mine.pk}/").status_code == 404
        posted = client_for(user).post(
            "/api/v1/webhooks/", {"unit": district.school_a.pk, "url": "http://127.0.0.1:9/"}, format="json"
        )
        assert posted.status_code == 403
    assert m.Webhook.objects.count() == 2


def test_delete_and_deactivate(district, client_for, allow_private):
    hook = webhook_create(actor=district.supervisor, unit=district.bureau, url="http://127.0.0.1:9/x")
    client = client_for(district.supervisor)

    assert client.patch(f"/api/v1/webhooks/{hook.pk}/", {"active": False}, format="json").json()["active"] is False
    assert (
        client.patch(f"/api/v1/webhooks/{hook.pk}/", {"unit": district.school_b.pk}, format="json").status_code == 400
    )
    assert client.delete(f"/api/v1/webhooks/{hook.pk}/").status_code == 204
    assert not m.Webhook.objects.exists()


# --- Delivery -------------------------------------------------------------------------------------
def test_sweep_reminders_become_one_delivery_per_webhook(district, allow_private):
    school_hook = webhook_create(actor=district.supervisor, unit=district.school_a, url="http://127.0.0.1:9/s")
    bureau_hook = webhook_create(actor=district.supervisor, unit=district.bureau, url="http://127.0.0.1:9/b")

    sweep_run(now=DUE + timedelta(days=8))
    sweep_run(now=DUE + timedelta(days=8, hours=1))

    school_types = sorted(school_hook.deliveries.values_list("payload__type", flat=True))
    bureau_types = sorted(bureau_hook.deliveries.values_list("payload__type", flat=True))
    assert school_types == ["reminder.flag_critical", "reminder.flag_opened", "reminder.overdue"]
    # the bureau hears about both schools: escalations and flags
    assert bureau_types == sorted(["reminder.escalation", "reminder.flag_critical", "reminder.flag_opened"] * 2)
    assert m.WebhookDelivery.objects.values("message_id").distinct().count() == m.WebhookDelivery.objects.count()


def test_503_twice_then_200_is_one_delivery_with_the_same_id(district, no_flags, allow_private, client_for):
    with Receiver([503, 503, 200]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        sweep_run(now=DUE + timedelta(hours=1))
        delivery = hook.deliveries.get()

        results = []
        at = timezone.now()
        for _ in range(4):
            at += timedelta(hours=2)  # past any backoff
            results.append(delivery_attempt(delivery_id=delivery.pk, now=at))

    assert [r.status if r else None for r in results] == ["pending", "pending", "delivered", None]
    assert results[0].retry_in is not None
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert ids == {delivery.message_id}
    assert len(receiver.requests) == 3
    assert all(verify(hook.secret, headers, body) for headers, body in receiver.requests)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    listed = client_for(district.supervisor).get(f"/api/v1/webhooks/{hook.pk}/deliveries/").json()["results"]
    assert [(r["status"], r["attempts"], r["type"]) for r in listed] == [("delivered", 3, "reminder.overdue")]


def test_an_attempt_before_its_backoff_is_not_made(district, no_flags, allow_private):
    with Receiver([503]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        sweep_run(now=DUE + timedelta(hours=1))
        delivery = hook.deliveries.get()
        now = timezone.now()
        first = delivery_attempt(delivery_id=delivery.pk, now=now)
        second = delivery_attempt(delivery_id=delivery.pk, now=now + timedelta(milliseconds=10))

    assert first.status == "pending"
    assert second is None
    assert len(receiver.requests) == 1


def test_after_the_last_attempt_the_delivery_is_failed_and_visible(district, no_flags, allow_private, client_for):
    allow_private.WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver([500]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        sweep_run(now=DUE + timedelta(hours=1))
        delivery = hook.deliveries.get()
        at = timezone.now()
        statuses = []
        for _ in range(5):
            at += timedelta(hours=3)
            result = delivery_attempt(delivery_id=delivery.pk, now=at)
            statuses.append(result.status if result else None)

    assert statuses == ["pending", "pending", "failed", None, None]
    assert len(receiver.requests) == 3
    listed = client_for(district.supervisor).get(f"/api/v1/webhooks/{hook.pk}/deliveries/?status=failed").json()
    assert [(r["status"], r["attempts"], r["last_status_code"]) for r in listed["results"]] == [("failed", 3, 500)]


def test_a_redirect_is_not_followed(district, no_flags, allow_private):
    with Receiver([302]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        sweep_run(now=DUE + timedelta(hours=1))
        result = delivery_attempt(delivery_id=hook.deliveries.get().pk)

    assert result.status == "pending"
    assert len(receiver.requests) == 1
    assert hook.deliveries.get().last_status_code == 302


def test_a_target_that_became_internal_is_refused_at_send_time(district, no_flags, settings):
    with Receiver([200]) as receiver:
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        sweep_run(now=DUE + timedelta(hours=1))
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

        result = delivery_attempt(delivery_id=hook.deliveries.get().pk)

    assert result.status == "pending"
    assert receiver.requests == []
    assert "refused" in hook.deliveries.get().last_error


def test_a_lost_delivery_message_is_sent_again_by_the_sweep(
    district, no_flags, allow_private, django_capture_on_commit_callbacks
):
    allow_private.CELERY_TASK_ALWAYS_EAGER = True  # the enqueue runs the attempt inline after commit
    with Receiver([200]) as receiver:
        hook = webhook_create(actor=district.supervisor, unit=district.school_a, url=receiver.url)
        delivery = m.WebhookDelivery.objects.create(
            webhook=hook, message_id="msg_lost", payload={"type": "reminder.overdue"}, created_at=DUE
        )
        with django_capture_on_commit_callbacks(execute=True):
            report = sweep_run(now=timezone.now())

    assert report.webhooks_resent == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert ids.count("msg_lost") == 1


def test_returned_and_urged_schools_hear_it_on_their_webhook_once(district, allow_private):
    from tracker.assessment.task_services import task_return
    from tracker.audit.dispatch import event_handle
    from tracker.monitoring.services import urge_create

    hook = webhook_create(actor=district.supervisor, unit=district.school_a, url="http://127.0.0.1:9/x")
    task = m.Task.objects.get(cycle=district.cycle, school=district.school_a)
    m.Task.objects.filter(pk=task.pk).update(status=m.TaskStatus.SUBMITTED)
    task_return(task=task, actor=district.supervisor, reason="missing signature")
    urge_create(
        actor=district.supervisor,
        cycle=district.cycle,
        school=district.school_a,
        message="answer please",
        respond_by=timezone.now() + timedelta(days=2),
    )
    events = m.Event.objects.filter(type__in=["task.returned", "urge.created"])
    for event in events:
        event_handle(event_id=event.pk)
        m.EventDispatch.objects.filter(event=event).update(done_at=None)
        event_handle(event_id=event.pk)  # handled twice (the relay): still one delivery

    news = hook.deliveries.filter(payload__type__startswith="notification.")
    assert sorted(news.values_list("payload__type", flat=True)) == ["notification.returned", "notification.urge"]


def test_filtering_on_a_unit_out_of_scope_answers_like_a_missing_one(district, client_for, allow_private):
    webhook_create(actor=district.other_supervisor, unit=district.other_school, url="http://127.0.0.1:9/x")
    client = client_for(district.supervisor)

    theirs = client.get(f"/api/v1/webhooks/?unit={district.other_school.pk}")
    missing = client.get("/api/v1/webhooks/?unit=999999999")

    assert theirs.status_code == missing.status_code == 400
    assert client.get(f"/api/v1/webhooks/?unit={district.school_a.pk}&active=true").status_code == 200
