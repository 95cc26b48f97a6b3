"""The world the abuse tests attack: two schools of one district, a sibling district, and every kind of
object (tasks, evidence files, flags, urges, extension requests, appeals, ledger lines, notifications,
webhooks, snapshots, events) on each side.

Every object carries a unique marker in its text (name, title, message, file name and file bytes), so a
test can tell from a raw response body whether anything of another school or district leaked into it.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from knox.models import AuthToken

from tests.conftest import District
from tracker import models as m
from tracker.assessment.evidence_services import evidence_add
from tracker.inspections.case_services import case_create, case_publish, case_update
from tracker.inspections.inspection_services import TargetInput, inspection_create
from tracker.integrity.campaign_services import campaign_activate, campaign_create
from tracker.integrity.check_services import check_record
from tracker.integrity.register_services import risk_create

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
# Full names of the people in the world's cases, per district: no school may ever read one of them.
CASE_PERSONS = {"1": ("张三", "欧阳明"), "2": ("李四", "司马光")}

# Where an object lives. Authority-level objects are split into what a school of that district may read
# (the district's cycles and criteria) and what only the authority's staff may (its webhooks).
A, B, D1_SHARED, D1_STAFF = "A", "B", "D1_SHARED", "D1_STAFF"
C, D2_SHARED, D2_STAFF = "C", "D2_SHARED", "D2_STAFF"
PERSONAL = "PERSONAL"

ROLES = ("school_a", "school_other_district", "supervisor_d1", "inspector_d1", "supervisor_d2", "anonymous")

# The homes whose objects each role must never see. Personal objects (notifications) are foreign to
# everyone but their recipient, whatever the role.
FOREIGN_HOMES: dict[str, set[str]] = {
    "school_a": {B, D1_STAFF, C, D2_SHARED, D2_STAFF},
    "school_other_district": {A, B, D1_SHARED, D1_STAFF, D2_STAFF},
    "supervisor_d1": {C, D2_SHARED, D2_STAFF},
    "inspector_d1": {C, D2_SHARED, D2_STAFF},
    "supervisor_d2": {A, B, D1_SHARED, D1_STAFF},
    "anonymous": {A, B, D1_SHARED, D1_STAFF, C, D2_SHARED, D2_STAFF},
}


@dataclass
class Obj:
    kind: str  # the model's name: "unit", "task", "evidence", ...
    pk: int
    home: str
    marker: str | None = None
    recipient: str | None = None  # for personal objects: the role that owns it


@dataclass
class World:
    d: District
    users: dict[str, object]  # role -> user (None for anonymous)
    tokens: dict[str, str]  # role -> API token key
    objects: list[Obj] = field(default_factory=list)
    evidence: dict[str, m.Evidence] = field(default_factory=dict)  # "a", "b", "c" -> the school's file

    def foreign(self, role: str, kind: str | None = None) -> list[Obj]:
        if kind == "school":  # the units that are schools (a path that takes only a school)
            return [o for o in self.foreign(role, "unit") if o.pk in self._schools()]
        out = []
        for obj in self.objects:
            if kind is not None and obj.kind != kind:
                continue
            if obj.home == PERSONAL:
                if obj.recipient != role:
                    out.append(obj)
            elif obj.home in FOREIGN_HOMES[role]:
                out.append(obj)
        return out

    def _schools(self) -> set[int]:
        return set(m.Unit.objects.filter(kind=m.UnitKind.SCHOOL).values_list("pk", flat=True))

    def own(self, role: str, kind: str) -> list[Obj]:
        if kind == "school":
            return [o for o in self.own(role, "unit") if o.pk in self._schools()]
        foreign = {(o.kind, o.pk) for o in self.foreign(role, kind)}
        return [o for o in self.objects if o.kind == kind and (o.kind, o.pk) not in foreign]

    def foreign_markers(self, role: str) -> dict[str, Obj]:
        return {o.marker: o for o in self.foreign(role) if o.marker}

    def own_markers(self, role: str) -> dict[str, Obj]:
        return {o.marker: o for o in self.objects if o.marker and o not in self.foreign(role)}

    def own_cycle(self, role: str) -> m.Cycle:
        return self.d.other_cycle if role in ("school_other_district", "supervisor_d2") else self.d.cycle

    def own_unit(self, role: str, kind: str = "") -> m.Unit:
        """The unit a role's filters naturally point at: its school, or its authority."""
        d = self.d
        if role == "school_a":
            return d.school_a
        if role == "school_other_district":
            return d.other_school
        if role == "supervisor_d2":
            return d.other_school if kind == "school" else d.other_bureau
        return d.school_a if kind == "school" else d.bureau


def pdf_bytes(marker: str) -> bytes:
    return b"%PDF-1.4\n% " + marker.encode() + b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


class _Markers:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"LEAK{self.n:03d}Z"


@pytest.fixture
def world(district: District) -> World:
    d = district
    users = {
        "school_a": d.school_a_user,
        "school_other_district": d.other_school_user,
        "supervisor_d1": d.supervisor,
        "inspector_d1": d.inspector,
        "supervisor_d2": d.other_supervisor,
        "anonymous": None,
    }
    w = World(d=d, users=users, tokens={})
    for role, user in users.items():
        if user is not None:
            w.tokens[role] = AuthToken.objects.create(user=user)[1]
    mark = _Markers()

    def add(instance, home: str, text_field: str | None = None, recipient: str | None = None) -> Obj:
        marker = None
        if text_field:
            marker = mark()
            joint = "/" if text_field == "url" else " "  # a URL stays a valid URL
            setattr(instance, text_field, f"{getattr(instance, text_field)}{joint}{marker}")
            instance.save(update_fields=[text_field])
        obj = Obj(instance._meta.model_name, instance.pk, home, marker, recipient)
        w.objects.append(obj)
        return obj

    # Units, cycles, criteria.
    add(d.bureau, D1_SHARED, "name")
    add(d.school_a, A, "name")
    add(d.school_b, B, "name")
    add(d.other_bureau, D2_SHARED, "name")
    add(d.other_school, C, "name")
    add(d.cycle, D1_SHARED, "name")
    add(d.other_cycle, D2_SHARED, "name")
    for criterion in m.Criterion.objects.filter(cycle__in=[d.cycle, d.other_cycle]):
        add(criterion, D1_SHARED if criterion.cycle_id == d.cycle.pk else D2_SHARED, "title")

    tasks = {t.school_id: t for t in m.Task.objects.filter(cycle__in=[d.cycle, d.other_cycle])}
    homes = {d.school_a.pk: A, d.school_b.pk: B, d.other_school.pk: C}
    uploaders = {d.school_a.pk: d.school_a_user, d.school_b.pk: d.school_b_user, d.other_school.pk: d.other_school_user}
    letters = {d.school_a.pk: "a", d.school_b.pk: "b", d.other_school.pk: "c"}
    for school_id, task in tasks.items():
        home = homes[school_id]
        add(task, home)
        # Evidence: the marker is both in the file name and in the stored bytes.
        marker = mark()
        body = pdf_bytes(marker)
        ev = evidence_add(
            task=task,
            actor=uploaders[school_id],
            file=io.BytesIO(body),
            filename=f"{marker}.pdf",
            size=len(body),
            now=NOW,
        )
        w.evidence[letters[school_id]] = ev
        w.objects.append(Obj("evidence", ev.pk, home, marker))
        cycle = task.cycle
        school = task.school
        add(
            m.Flag.objects.create(
                cycle=cycle, school=school, severity=m.FlagSeverity.WARNING, overdue_count=1, opened_at=NOW
            ),
            home,
        )
        add(
            m.Urge.objects.create(
                cycle=cycle,
                school=school,
                message="Please catch up.",
                respond_by=NOW + timedelta(days=3),
                created_by=d.supervisor if cycle == d.cycle else d.other_supervisor,
                created_at=NOW,
            ),
            home,
            "message",
        )
        # Deadline fairness (CONTRACT section 7): a request for time, an appeal and a ledger line per school.
        add(
            m.ExtensionRequest.objects.create(
                task=task, requested_due_at=task.due_at + timedelta(days=9), reason="Flooded.", created_at=NOW
            ),
            home,
            "reason",
        )
        contested = m.Appeal.objects.create(task=task, reason="Unfair.", contested=["D1"], created_at=NOW)
        add(contested, home, "reason")
        add(
            m.DeductionEntry.objects.create(
                task=task, code="D1", points=2, action="applied", source="approval", at=NOW, reason="Minutes."
            ),
            home,
            "reason",
        )
        add(
            m.DailySnapshot.objects.create(
                cycle=cycle,
                school=school,
                date=date(2026, 3, 1),
                tasks=1,
                approved=0,
                submitted=0,
                overdue=1,
                due_passed=1,
                on_time=0,
                score=0,
            ),
            home,
        )

    # Webhooks hold a secret: only the authority's own staff may see them.
    add(m.Webhook.objects.create(unit=d.bureau, url="https://hooks.example.org/d1", secret="s1" * 16), D1_STAFF, "url")
    add(
        m.Webhook.objects.create(unit=d.other_bureau, url="https://hooks.example.org/d2", secret="s2" * 16),
        D2_STAFF,
        "url",
    )

    # Inspection rounds and cases are the authority staff's; a published case's notice is shared with
    # every school of the district. The published case's text has no marker (its redacted text is the
    # notice's); the notice's marker is added to the notice itself.
    for bureau, school, staff, shared, letter in (
        (d.bureau, d.school_b, D1_STAFF, D1_SHARED, "1"),
        (d.other_bureau, d.other_school, D2_STAFF, D2_SHARED, "2"),
    ):
        inspection = inspection_create(
            actor=None,
            authority=bureau,
            kind="unannounced",
            held_on=date(2026, 2, 20),
            inspectors=3,
            targets=[TargetInput(kind="tutoring_centre", name="启航培训"), TargetInput(kind="school", school=school)],
            summary="暗访",
            now=NOW,
        )
        add(inspection, staff, "summary")
        reported = case_create(
            actor=None,
            authority=bureau,
            inspection=inspection,
            school=school,
            type="paid_tutoring",
            occurred_on=date(2026, 2, 20),
            summary=f"{CASE_PERSONS[letter][0]}有偿补课。",
            persons=[CASE_PERSONS[letter][0]],
            now=NOW,
        )
        add(reported, staff, "summary")
        published = case_create(
            actor=None,
            authority=bureau,
            school=school,
            type="banquet",
            occurred_on=date(2026, 1, 10),
            summary=f"{CASE_PERSONS[letter][1]}操办升学宴。",
            persons=[CASE_PERSONS[letter][1]],
            disposition=f"给予{CASE_PERSONS[letter][1]}警告处分。",
            now=NOW,
        )
        case_update(actor=None, case=published, changes={"status": "investigating"}, now=NOW)
        case_update(actor=None, case=published, changes={"status": "concluded"}, now=NOW)
        add(published, staff)
        add(case_publish(actor=None, case=published, now=NOW), shared, "summary")

    # Notifications are personal: one for every person in the world, about their own district.
    recipients = dict(users)
    recipients["school_b"] = d.school_b_user
    for role, user in recipients.items():
        if user is None:
            continue
        theirs = d.other_cycle if role in ("school_other_district", "supervisor_d2") else d.cycle
        task = tasks[d.other_school.pk] if theirs == d.other_cycle else tasks[d.school_a.pk]
        if role == "school_b":
            task = tasks[d.school_b.pk]
        add(
            m.Notification.objects.create(
                recipient=user,
                kind=m.NotificationKind.OVERDUE,
                title="Overdue",
                body="",
                task=task,
                school=task.school,
                cycle=theirs,
                created_at=NOW,
            ),
            PERSONAL,
            "title",
            recipient=role,
        )

    _integrity_objects(d, add, homes)

    # Events: every one recorded so far, homed by the school, cycle or authority (data.unit) it concerns.
    for event in m.Event.objects.all():
        if event.school_id in homes:
            home = homes[event.school_id]
        elif event.cycle_id == d.cycle.pk or (event.cycle_id is None and event.data.get("unit") == d.bureau.pk):
            home = D1_STAFF
        elif event.cycle_id == d.other_cycle.pk or (
            event.cycle_id is None and event.data.get("unit") == d.other_bureau.pk
        ):
            home = D2_STAFF
        else:
            continue
        w.objects.append(Obj("event", event.pk, home))

    # Accounts: a person belongs where their membership is.
    user_homes = {
        d.school_a_user: A,
        d.school_b_user: B,
        d.supervisor: D1_STAFF,
        d.inspector: D1_STAFF,
        d.other_school_user: C,
        d.other_supervisor: D2_STAFF,
    }
    for user, home in user_homes.items():
        w.objects.append(Obj(get_user_model()._meta.model_name, user.pk, home))
    return w


def _integrity_objects(d: District, add, homes: dict[int, str]) -> None:
    """The integrity programme's objects on each side: each district's list item and campaign (which its
    schools may read), each school's own item, risk point, check with a finding, and the rectification
    task the finding became."""
    users = {d.school_a.pk: d.school_a_user, d.school_b.pk: d.school_b_user, d.other_school.pk: d.other_school_user}
    authorities = ((d.bureau, d.supervisor, D1_SHARED), (d.other_bureau, d.other_supervisor, D2_SHARED))
    district_items = {}
    for authority, supervisor, home in authorities:
        district_items[authority.pk] = add(
            m.ListItem.objects.create(unit=authority, list="micro_power", code="W1", title="区清单事项"), home, "title"
        )
        campaign = campaign_create(
            actor=supervisor, authority=authority, title="自查", lists=["micro_power"], due_at=NOW + 30 * DAY, now=NOW
        )
        add(campaign, home, "title")
    for school_id, home in homes.items():
        school = m.Unit.objects.get(pk=school_id)
        add(m.ListItem.objects.create(unit=school, list="micro_power", code="S1", title="校本事项"), home, "title")
    for authority, supervisor, _home in authorities:
        campaign_activate(actor=supervisor, campaign=m.Campaign.objects.get(authority=authority), now=NOW)
    for school_id, home in homes.items():
        school, user = m.Unit.objects.get(pk=school_id), users[school_id]
        item = m.ListItem.objects.get(pk=district_items[school.parent_id].pk)
        risk = risk_create(
            actor=user,
            school=school,
            item=item,
            post="leader",
            description="风险",
            level="low",
            measures=["措施"],
            now=NOW,
        )
        add(risk, home, "description")
        check = m.Check.objects.filter(school=school, item=item).get()
        check = check_record(
            actor=user,
            check=check,
            result="finding",
            note="自查",
            finding={"description": "问题", "rectify_by": NOW + 20 * DAY},
            now=NOW,
        )
        add(check, home, "finding")
        add(check.task, home, "title")


PUBLIC_TEST_ADDRESS = "93.184.215.14"  # a public address (example.org's), never contacted by these tests


@pytest.fixture
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """*.example.org resolves to a public address without a network, so webhook URLs pass the SSRF check."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and (host == "example.org" or host.endswith(".example.org")):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_TEST_ADDRESS, port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def wsgi_requests_keep_connection() -> Iterator[None]:
    """Calling Django's WSGI handler directly must not close the test's database connection.

    Django's own test client does the same: the request signals would otherwise close the connection
    that holds the test transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
