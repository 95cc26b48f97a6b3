"""Rounds, cases and notices through the services: the workflow table, the events, the redaction."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.conftest import CASEWORK_NOW, FULL_NAMES
from tests.factories import MembershipFactory
from tracker import models as m
from tracker.audit.dispatch import event_handle
from tracker.errors import AlreadyPublished, CasePublished, InvalidTransition, ValidationFailed
from tracker.inspections.case_services import case_create, case_publish, case_reads_record, case_update
from tracker.inspections.handlers import notify_notice_published
from tracker.inspections.inspection_services import TargetInput, inspection_create, inspection_update
from tracker.inspections.selectors import inspection_stats
from tracker.notify.digests import digests_send

pytestmark = pytest.mark.django_db
NOW = CASEWORK_NOW


def _case(district, **overrides) -> m.Case:
    fields = {
        "actor": district.inspector,
        "authority": district.bureau,
        "type": "paid_tutoring",
        "occurred_on": date(2026, 2, 1),
        "summary": "赵六有偿补课。",
        "persons": ["赵六"],
        "now": NOW,
    }
    return case_create(**{**fields, **overrides})


# --- Rounds ----------------------------------------------------------------------------------------
def test_a_round_keeps_its_targets_in_order_and_records_its_event(district):
    inspection = inspection_create(
        actor=district.inspector,
        authority=district.bureau,
        kind="announced",
        held_on=date(2026, 2, 1),
        inspectors=3,
        targets=[
            TargetInput(kind="tutoring_centre", name=" 启航  培训 "),
            TargetInput(kind="school", school=district.school_b),
        ],
        now=NOW,
    )

    targets = list(inspection.targets.values_list("kind", "name", "school"))
    assert targets == [("tutoring_centre", "启航 培训", None), ("school", district.school_b.name, district.school_b.pk)]
    event = m.Event.objects.get(type="inspection.created")
    assert event.subject_id == str(inspection.pk)
    assert event.data["authority"] == district.bureau.pk
    assert event.data["inspectors"] == 3


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([], "at least one target"),
        ([TargetInput(kind="school")], "names the school"),
        ([TargetInput(kind="neighbourhood", name="x", school="SCHOOL_A")], "only a target of kind `school`"),
        ([TargetInput(kind="school", school="OTHER_SCHOOL")], "not under the authority"),
        ([TargetInput(kind="neighbourhood", name="  ")], "needs a name"),
    ],
)
def test_a_round_refuses_bad_targets(district, targets, message):
    swap = {"SCHOOL_A": district.school_a, "OTHER_SCHOOL": district.other_school}
    targets = [TargetInput(t.kind, t.name, swap.get(t.school, t.school)) for t in targets]
    with pytest.raises(ValidationFailed, match=message):
        inspection_create(
            actor=district.inspector,
            authority=district.bureau,
            kind="announced",
            held_on=date(2026, 2, 1),
            inspectors=2,
            targets=targets,
            now=NOW,
        )
    assert not m.Inspection.objects.exists()


def test_a_round_cannot_be_held_in_the_future_or_by_nobody(district):
    common = {"actor": district.inspector, "authority": district.bureau, "kind": "announced", "now": NOW}
    target = [TargetInput(kind="other", name="x")]
    with pytest.raises(ValidationFailed, match="future"):
        inspection_create(**common, held_on=NOW.date() + timedelta(days=2), inspectors=1, targets=target)
    with pytest.raises(ValidationFailed, match="at least one inspector"):
        inspection_create(**common, held_on=NOW.date(), inspectors=0, targets=target)


def test_updating_a_round_replaces_its_targets_and_records_only_real_changes(casework):
    inspection = casework.inspection
    before = m.Event.objects.count()

    inspection_update(actor=None, inspection=inspection, changes={"inspectors": 4}, now=NOW)  # unchanged
    assert m.Event.objects.count() == before

    inspection_update(
        actor=None,
        inspection=inspection,
        changes={"inspectors": 6, "targets": [TargetInput(kind="neighbourhood", name="新城小区")]},
        now=NOW,
    )
    inspection.refresh_from_db()
    assert inspection.inspectors == 6
    assert list(inspection.targets.values_list("name", flat=True)) == ["新城小区"]
    event = m.Event.objects.latest("id")
    assert event.type == "inspection.updated"
    assert event.data["changed"]["inspectors"] == 6
    assert event.data["changed"]["targets"] == [{"kind": "neighbourhood", "name": "新城小区", "school": None}]


# --- Case workflow -------------------------------------------------------------------------------------
def test_a_case_moves_one_step_at_a_time_and_each_step_is_an_event(district):
    case = _case(district)
    assert case.status == "reported"

    with pytest.raises(InvalidTransition) as refused:
        case_update(actor=district.inspector, case=case, changes={"status": "concluded", "disposition": "x"}, now=NOW)
    assert refused.value.extra == {"status": "reported", "allowed": ["investigating"]}

    case_update(actor=district.inspector, case=case, changes={"status": "investigating"}, now=NOW)
    case = case_update(
        actor=district.inspector, case=case, changes={"status": "concluded", "disposition": "诫勉谈话"}, now=NOW
    )
    assert case.status == "concluded"
    assert case.concluded_at == NOW
    with pytest.raises(InvalidTransition) as back:
        case_update(actor=district.inspector, case=case, changes={"status": "investigating"}, now=NOW)
    assert back.value.extra == {"status": "concluded", "allowed": []}

    events = list(m.Event.objects.filter(subject_type="case", subject_id=str(case.pk)).values_list("type", "data"))
    assert [t for t, _ in events] == ["case.created", "case.status_changed", "case.updated", "case.status_changed"]
    assert events[1][1] == {"authority": district.bureau.pk, "from": "reported", "to": "investigating"}
    assert events[2][1]["changed_private"] == ["disposition"]


def test_concluding_needs_a_disposition(district):
    case = _case(district)
    case_update(actor=district.inspector, case=case, changes={"status": "investigating"}, now=NOW)
    with pytest.raises(ValidationFailed, match="disposition"):
        case_update(actor=district.inspector, case=case, changes={"status": "concluded"}, now=NOW)
    case.refresh_from_db()
    assert case.status == "investigating"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"school": "OTHER_SCHOOL"}, "school"),
        ({"school": "BUREAU"}, "school"),
        ({"authority": "SCHOOL_A"}, "authority"),
        ({"occurred_on": date(2026, 3, 9)}, "occurred_on"),
        ({"summary": "   "}, "summary"),
        ({"persons": ["王"]}, "persons"),
        ({"persons": ["王某"]}, "persons"),
        ({"persons": ["王\x00五"]}, "persons"),
    ],
)
def test_a_case_refuses_bad_facts(district, overrides, field):
    swap = {"OTHER_SCHOOL": district.other_school, "BUREAU": district.bureau, "SCHOOL_A": district.school_a}
    overrides = {k: swap.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    with pytest.raises(ValidationFailed) as refused:
        _case(district, **overrides)
    assert refused.value.extra["field"] == field
    assert not m.Case.objects.exists()


def test_a_case_may_name_only_a_round_of_its_authority(district, casework):
    other_round = inspection_create(
        actor=None,
        authority=district.other_bureau,
        kind="announced",
        held_on=date(2026, 2, 1),
        inspectors=1,
        targets=[TargetInput(kind="other", name="x")],
        now=NOW,
    )
    with pytest.raises(ValidationFailed) as refused:
        _case(district, inspection=other_round)
    assert refused.value.extra["field"] == "inspection"
    assert _case(district, inspection=casework.inspection).inspection_id == casework.inspection.pk


def test_persons_are_cleaned_and_deduplicated(district):
    case = _case(district, persons=[" 赵六 ", "赵六", "欧阳  明"])
    assert case.persons == ["赵六", "欧阳 明"]


# --- Events keep the case's text out of the log ---------------------------------------------------------
def test_no_event_about_a_case_carries_a_name_or_the_case_text(casework):
    events = m.Event.objects.filter(subject_type__in=["case", "inspection"])
    assert events.filter(type="case.published").count() == 2
    dumped = json.dumps(list(events.values_list("data", flat=True)), ensure_ascii=False)
    for name in FULL_NAMES:
        assert name not in dumped
    assert "升学宴" not in dumped and "警告处分" not in dumped


# --- Publishing --------------------------------------------------------------------------------------
def test_publishing_writes_a_notice_with_every_name_redacted(casework):
    notice = casework.notice
    assert notice.persons == ["张某", "欧阳某"]
    assert notice.summary == "张某为其子操办升学宴，欧阳某收受礼金。"
    assert notice.disposition == "给予张某党内警告处分，欧阳某诫勉谈话并退还礼金。"
    assert notice.authority_id == casework.published.authority_id
    assert notice.published_at == NOW
    stored = json.dumps(list(m.Notice.objects.values()), ensure_ascii=False, default=str)
    for name in FULL_NAMES:
        assert name not in stored


def test_only_a_concluded_case_is_published_and_only_once(district, casework):
    with pytest.raises(InvalidTransition) as refused:
        case_publish(actor=district.inspector, case=casework.reported, now=NOW)
    assert refused.value.extra["status"] == "reported"
    with pytest.raises(AlreadyPublished) as twice:
        case_publish(actor=district.inspector, case=casework.published, now=NOW)
    assert twice.value.extra == {"notice": casework.notice.pk}
    assert m.Notice.objects.filter(case=casework.published).count() == 1
    assert not m.Notice.objects.filter(case=casework.reported).exists()


def test_a_published_case_is_frozen(district, casework):
    with pytest.raises(CasePublished):
        case_update(actor=district.inspector, case=casework.published, changes={"summary": "改写"}, now=NOW)
    # Saying what it already says is no change.
    same = case_update(actor=district.inspector, case=casework.published, changes={"type": "banquet"}, now=NOW)
    assert same.summary == casework.published.summary


# --- Notifications -----------------------------------------------------------------------------------
def _published_event(case: m.Case) -> m.Event:
    return m.Event.objects.get(type="case.published", subject_id=str(case.pk))


def test_publishing_notifies_every_account_under_the_authority_once(district, casework):
    outsider_school = district.other_school_user
    m.Membership.objects.filter(user=district.school_b_user).update(language="en")
    event = _published_event(casework.published)
    assert m.EventDispatch.objects.filter(event=event, done_at__isnull=True).exists()

    assert event_handle(event_id=event.pk, now=NOW) is True
    notify_notice_published(event)  # the relay, or a redelivered message: nothing more
    notify_notice_published(event)

    notes = m.Notification.objects.filter(kind="notice_published", event=event)
    expected = {district.supervisor, district.inspector, district.school_a_user, district.school_b_user}
    assert {n.recipient for n in notes} == expected
    assert notes.count() == len(expected)
    assert outsider_school not in {n.recipient for n in notes}
    english = notes.get(recipient=district.school_b_user)
    chinese = notes.get(recipient=district.school_a_user)
    assert english.title.startswith("Notice on a case of")
    assert "What happened: 张某为其子操办升学宴" in english.body
    assert chinese.title.startswith("关于") and "张某为其子操办升学宴" in chinese.body
    for note in notes:
        for name in FULL_NAMES:
            assert name not in note.title and name not in note.body


def test_an_account_of_a_unit_under_a_sub_authority_is_notified_too(district, casework):
    town = m.Unit.objects.create(name="Town office", code="TOWN", kind="authority", parent=district.bureau)
    town_school = m.Unit.objects.create(name="Town school", code="TS", kind="school", parent=town)
    teacher = MembershipFactory(unit=town_school, role=m.Role.SCHOOL).user
    inactive = MembershipFactory(unit=town_school, role=m.Role.SCHOOL).user
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])

    notify_notice_published(_published_event(casework.published))

    recipients = set(m.Notification.objects.filter(kind="notice_published").values_list("recipient", flat=True))
    assert teacher.pk in recipients
    assert inactive.pk not in recipients


def test_the_notice_email_digest_names_no_one(district, casework):
    for user in (district.school_a_user, district.school_b_user, district.supervisor):
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    notify_notice_published(_published_event(casework.published))
    mail.outbox.clear()

    sent = digests_send(now=NOW + timedelta(minutes=5))

    assert sent == 3
    assert len(mail.outbox) == 3
    for message in mail.outbox:
        text = message.subject + message.body
        assert "案例通报" in text or "notice published" in text
        for name in FULL_NAMES:
            assert name not in text


# --- Reads -------------------------------------------------------------------------------------------
def test_reads_are_logged_one_row_per_case_and_cannot_be_changed(district, casework):
    written = case_reads_record(
        reader=district.supervisor, cases=[casework.reported, casework.published, casework.reported], via="api.list"
    )
    assert written == 2
    rows = m.CaseRead.objects.filter(reader=district.supervisor)
    assert set(rows.values_list("case", "via")) == {
        (casework.reported.pk, "api.list"),
        (casework.published.pk, "api.list"),
    }
    with pytest.raises(DatabaseError), transaction.atomic():
        rows.update(read_at=NOW)
    with pytest.raises(DatabaseError), transaction.atomic():
        m.CaseRead.objects.filter(reader=district.supervisor).delete()
    assert m.CaseRead.objects.filter(reader=district.supervisor).count() == 2


# --- Statistics --------------------------------------------------------------------------------------
def test_statistics_are_counted_by_the_database(district, casework):
    for held_on, kind, inspectors in ((date(2026, 1, 3), "announced", 3), (date(2025, 12, 30), "unannounced", 9)):
        inspection_create(
            actor=None,
            authority=district.bureau,
            kind=kind,
            held_on=held_on,
            inspectors=inspectors,
            targets=[TargetInput(kind="tutoring_centre", name="a"), TargetInput(kind="tutoring_centre", name="b")],
            now=NOW,
        )

    with CaptureQueriesContext(connection) as queries:
        stats = inspection_stats(authority_ids={district.bureau.pk}, authority_id=district.bureau.pk, year=2026)

    assert stats.rounds == 2
    assert stats.person_visits == 4 + 3
    assert stats.rounds_by_kind == {"announced": 1, "unannounced": 1}
    assert stats.targets_by_kind == {"school": 1, "neighbourhood": 1, "tutoring_centre": 3, "other": 0}
    assert stats.cases_by_type == {"paid_tutoring": 1, "banquet": 1, "second_job": 0, "private_gain": 0, "other": 0}
    assert stats.cases == 2
    assert len(queries) == 3
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert all("COUNT(" in s for s in sql)
    assert sum("GROUP BY" in s for s in sql) == 2
    assert "SUM(" in sql[0]


def test_statistics_of_a_year_without_rounds_are_zero_everywhere(district):
    stats = inspection_stats(authority_ids={district.bureau.pk}, authority_id=district.bureau.pk, year=2019)
    assert (stats.rounds, stats.person_visits, stats.cases) == (0, 0, 0)
    assert set(stats.targets_by_kind.values()) == {0}
    assert set(stats.cases_by_type.values()) == {0}


def test_case_events_are_not_filed_under_the_school(casework):
    # Whatever shows a school its own events must not reveal that a case about it exists.
    events = m.Event.objects.filter(subject_type="case")
    assert events.count() >= 6
    assert not events.filter(school__isnull=False).exists()
    assert not events.filter(cycle__isnull=False).exists()
    created = events.get(type="case.created", subject_id=str(casework.reported.pk))
    assert created.data["school"] == casework.reported.school_id
