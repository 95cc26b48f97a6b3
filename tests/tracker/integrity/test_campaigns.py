"""Self-inspection campaigns: activation creates one check per school per applicable item in bulk,
idempotently; a school records each check once; a finding becomes a rectification task."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import SchoolFactory, UnitFactory
from tests.integrity_support import CAMPAIGN_DUE, NOW, D, item
from tracker import models as m
from tracker.errors import CheckRecorded, InvalidState, ValidationFailed
from tracker.integrity.campaign_services import campaign_activate, campaign_close, campaign_create, cases_campaign
from tracker.integrity.check_services import check_record
from tracker.integrity.rectification_services import rectification_create

pytestmark = pytest.mark.django_db


def checks_of(campaign, school) -> set[str]:
    return set(m.Check.objects.filter(campaign=campaign, school=school).values_list("item__code", flat=True))


def test_activation_creates_one_check_per_school_per_applicable_item(integrity):
    d = integrity.d
    campaign = integrity.campaign()

    assert campaign.status == "active"
    assert checks_of(campaign, d.school_a) == {"M01", "M02", "N01", "A01"}  # the bureau's and its own
    assert checks_of(campaign, d.school_b) == {"M01", "M02", "N01"}  # not School A's own item
    assert not m.Check.objects.filter(campaign=campaign, school=d.other_school).exists()
    assert set(m.Checklist.objects.filter(campaign=campaign).values_list("school_id", "due_at")) == {
        (d.school_a.pk, CAMPAIGN_DUE),
        (d.school_b.pk, CAMPAIGN_DUE),
    }
    event = m.Event.objects.get(type="campaign.activated")
    assert event.data == {"unit": d.bureau.pk, "checks_created": 7}


def test_a_campaign_over_one_list_checks_only_that_list(integrity):
    campaign = integrity.campaign(lists=("negative",))
    assert checks_of(campaign, integrity.d.school_a) == {"N01"}


def test_activation_is_idempotent_and_a_later_one_adds_only_what_is_new(integrity):
    d = integrity.d
    campaign = integrity.campaign(activate=False)
    assert campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW) == 7
    assert campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW) == 0

    # School B finishes its checklist; then the bureau adds an item and a school joins the district.
    for check in m.Check.objects.filter(campaign=campaign, school=d.school_b):
        check_record(actor=d.school_b_user, check=check, result="ok", now=NOW)
    assert m.Checklist.objects.get(campaign=campaign, school=d.school_b).completed_at == NOW
    item(d.bureau, "M03", "评优评先")
    newcomer = SchoolFactory(parent=d.bureau)
    # M03 for Schools A and B; the newcomer's four (M01, M02, N01, M03).
    assert campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW) == 2 + 4
    assert m.Check.objects.filter(campaign=campaign).count() == 7 + 6
    # School B's checklist has an unchecked item again; the newcomer has its own checklist.
    assert m.Checklist.objects.get(campaign=campaign, school=d.school_b).completed_at is None
    assert m.Checklist.objects.filter(campaign=campaign, school=newcomer).exists()


def test_items_of_every_authority_above_reach_the_schools_at_any_depth(db, django_user_model):
    province = UnitFactory(name="Province")
    city = UnitFactory(name="City", parent=province)
    district = UnitFactory(name="District", parent=city)
    near = SchoolFactory(parent=city)
    deep = SchoolFactory(parent=district)
    elsewhere = SchoolFactory(parent=UnitFactory(name="Other city", parent=province))
    item(province, "P1", "省清单事项")
    item(city, "C1", "市清单事项")
    item(district, "D1", "区清单事项")
    item(deep, "S1", "校本事项")
    item(near, "S2", "另一校事项")
    supervisor = django_user_model.objects.create(username="city-supervisor")
    campaign = campaign_create(
        actor=supervisor, authority=city, title="市级自查", lists=["micro_power"], due_at=CAMPAIGN_DUE, now=NOW
    )
    assert campaign_activate(actor=supervisor, campaign=campaign, now=NOW) == 3 + 4

    assert checks_of(campaign, near) == {"P1", "C1", "S2"}
    assert checks_of(campaign, deep) == {"P1", "C1", "D1", "S1"}
    assert checks_of(campaign, elsewhere) == set()  # not under the campaign's authority


def test_activation_is_a_fixed_number_of_statements_whatever_the_size(integrity):
    d = integrity.d

    def statements() -> int:
        campaign = integrity.campaign(activate=False)
        with CaptureQueriesContext(connection) as ctx:
            campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW)
        return len(ctx.captured_queries)

    small = statements()
    for _ in range(6):
        SchoolFactory(parent=d.bureau)
    for n in range(10):
        item(d.bureau, f"X{n}", f"事项{n}")
    assert statements() == small


def test_campaign_input_is_checked(integrity):
    d = integrity.d
    with pytest.raises(ValidationFailed) as no_list:
        campaign_create(actor=d.supervisor, authority=d.bureau, title="t", lists=[], due_at=CAMPAIGN_DUE, now=NOW)
    assert no_list.value.extra["field"] == "lists"
    with pytest.raises(ValidationFailed):
        campaign_create(actor=d.supervisor, authority=d.bureau, title="t", lists=["x"], due_at=CAMPAIGN_DUE, now=NOW)
    with pytest.raises(ValidationFailed) as past:
        campaign_create(actor=d.supervisor, authority=d.bureau, title="t", lists=["negative"], due_at=NOW, now=NOW)
    assert past.value.extra["field"] == "due_at"
    with pytest.raises(ValidationFailed):
        campaign_create(
            actor=d.supervisor, authority=d.school_a, title="t", lists=["negative"], due_at=CAMPAIGN_DUE, now=NOW
        )


# --- checks ---------------------------------------------------------------------------------------------
def a_check(integrity, campaign, code="M01", school=None):
    return m.Check.objects.get(campaign=campaign, school=school or integrity.d.school_a, item__code=code)


def test_a_result_is_recorded_once(integrity):
    campaign = integrity.campaign()
    check = a_check(integrity, campaign)
    check_record(actor=integrity.d.school_a_user, check=check, result="ok", note="已核对", now=NOW)
    with pytest.raises(CheckRecorded) as again:
        check_record(actor=integrity.d.school_a_user, check=check, result="ok", now=NOW + D)
    assert (again.value.http_status, again.value.extra["status"]) == (409, "ok")
    with pytest.raises(CheckRecorded):
        check_record(
            actor=integrity.d.school_a_user,
            check=check,
            result="finding",
            finding={"description": "x", "rectify_by": NOW + 9 * D},
            now=NOW + D,
        )
    check.refresh_from_db()
    assert (check.result, check.note, check.checked_at, check.task) == ("ok", "已核对", NOW, None)


@pytest.mark.parametrize(
    "finding",
    [None, {"description": "", "rectify_by": NOW + 9 * D}, {"description": "有问题", "rectify_by": None}],
    ids=["no finding", "no description", "no deadline"],
)
def test_a_finding_needs_a_description_and_a_deadline(integrity, finding):
    campaign = integrity.campaign()
    with pytest.raises(ValidationFailed):
        check_record(
            actor=integrity.d.school_a_user,
            check=a_check(integrity, campaign),
            result="finding",
            finding=finding,
            now=NOW,
        )
    assert not m.Task.objects.filter(kind="rectification").exists()
    assert a_check(integrity, campaign).result is None


def test_a_finding_becomes_a_rectification_task_of_the_campaign(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    rectify_by = NOW + 20 * D
    check = check_record(
        actor=d.school_a_user,
        check=a_check(integrity, campaign),
        result="finding",
        finding={"description": "招生录取未集体研究", "rectify_by": rectify_by},
        now=NOW,
    )
    task = check.task
    assert (task.kind, task.campaign, task.school, task.cycle, task.criterion) == (
        "rectification",
        campaign,
        d.school_a,
        None,
        None,
    )
    assert (task.status, task.due_at, task.title, task.requirement) == (
        "not_started",
        rectify_by,
        "M01 招生录取",
        "招生录取未集体研究",
    )
    assert (task.min_evidence, task.max_score) == (1, 0)
    created = m.Event.objects.get(type="rectification.created")
    assert (created.task, created.data["source"], created.cycle) == (task, ["check", check.pk], None)
    recorded = m.Event.objects.get(type="check.recorded")
    assert (recorded.task, recorded.data["result"]) == (task, "finding")


def test_the_last_check_closes_the_checklist(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    checks = list(m.Check.objects.filter(campaign=campaign, school=d.school_b).order_by("id"))
    for n, check in enumerate(checks):
        check_record(actor=d.school_b_user, check=check, result="ok", now=NOW + n * D)
        closed = m.Checklist.objects.get(campaign=campaign, school=d.school_b).completed_at
        assert closed == (NOW + n * D if n == len(checks) - 1 else None)


def test_a_closed_campaign_takes_no_more_results(integrity):
    campaign = integrity.campaign()
    campaign_close(actor=integrity.d.supervisor, campaign=campaign, now=NOW)
    with pytest.raises(InvalidState):
        check_record(actor=integrity.d.school_a_user, check=a_check(integrity, campaign), result="ok", now=NOW)
    with pytest.raises(InvalidState):
        campaign_activate(actor=integrity.d.supervisor, campaign=campaign, now=NOW)


# --- rectifications from elsewhere (cases) -----------------------------------------------------------------
def test_a_rectification_without_a_campaign_goes_to_the_authoritys_case_campaign_made_on_first_use(integrity):
    d = integrity.d
    first = rectification_create(
        actor=d.supervisor,
        school=d.school_a,
        campaign=None,
        description="整改违规补课",
        rectify_by=NOW + 9 * D,
        now=NOW,
    )
    second = rectification_create(
        actor=d.supervisor, school=d.school_b, campaign=None, description="整改谢师宴", rectify_by=NOW + 9 * D, now=NOW
    )
    campaign = first.campaign
    assert campaign == second.campaign
    assert (campaign.title, campaign.kind, campaign.status, campaign.authority) == (
        "2026 case rectifications",
        "cases",
        "active",
        d.bureau,
    )
    assert cases_campaign(authority=d.bureau, year=2026, now=NOW) == campaign
    assert m.Campaign.objects.filter(kind="cases").count() == 1
    with pytest.raises(InvalidState):
        campaign_activate(actor=d.supervisor, campaign=campaign, now=NOW)


def test_a_rectification_is_refused_for_a_school_outside_the_campaign_and_in_the_past(integrity):
    d = integrity.d
    campaign = integrity.campaign()
    with pytest.raises(ValidationFailed) as outside:
        rectification_create(
            actor=d.supervisor, school=d.other_school, campaign=campaign, description="x", rectify_by=NOW + D, now=NOW
        )
    assert outside.value.extra["field"] == "school"
    with pytest.raises(ValidationFailed) as past:
        rectification_create(
            actor=d.supervisor, school=d.school_a, campaign=campaign, description="x", rectify_by=NOW - D, now=NOW
        )
    assert past.value.extra["field"] == "rectify_by"
