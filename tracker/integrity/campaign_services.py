"""Writes of self-inspection campaigns: create, activate (one check per school per applicable item, in
bulk), close; and the authority's "<year> case rectifications" campaign, made on first use.

Activation is two set-based statements whatever the district's size: INSERT ... SELECT of every
(school under the authority, item of the campaign's lists that applies to it), skipping the pairs
that already have a check under the unique (campaign, school, item), then one checklist per school
that has a check. Idempotent: a second activation creates nothing; one after new items or schools
were added creates just theirs (and re-opens the checklists that gained an unchecked item).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import InvalidState, ValidationFailed
from tracker.org.models import Unit, UnitKind
from tracker.org.tree import SCHOOL, UNIT_TABLE, ancestry_cte, subtree_cte
from tracker.sql import rows_written

from .models import Campaign, CampaignKind, CampaignStatus, Check, Checklist, ListItem, ListKind
from .rules import register_year

CHECK_TABLE = Check._meta.db_table
CHECKLIST_TABLE = Checklist._meta.db_table
ITEM_TABLE = ListItem._meta.db_table

# `tree`: the units at or under the authority; `reach(id, top_id)`: every (unit, unit at or above it
# within that subtree) pair, so an item of a unit under the authority reaches the schools below it;
# `up`: the authority and the units above it, whose items reach every school of the subtree.
_SCOPE_CTES = (
    "WITH RECURSIVE "
    + subtree_cte(f"SELECT u.id, u.id FROM {UNIT_TABLE} u WHERE u.id = %(authority)s")
    + ",\n"
    + subtree_cte("SELECT tree.id, tree.id FROM tree", name="reach")
    + ",\n"
    + ancestry_cte(["%(authority)s"]).replace("IN (%s)", "IN (%(authority)s)")
)
_INSERT_CHECKS_SQL = f"""
{_SCOPE_CTES}
INSERT INTO {CHECK_TABLE} (campaign_id, school_id, item_id, note, finding)
SELECT campaign_id, school_id, item_id, '', '' FROM (
    SELECT %(campaign)s AS campaign_id, s.id AS school_id, i.id AS item_id
    FROM reach r
    JOIN {UNIT_TABLE} s ON s.id = r.id AND s.kind = '{SCHOOL}'
    JOIN {ITEM_TABLE} i ON i.unit_id = r.top_id
    WHERE i.list IN ({{lists}})
  UNION ALL
    SELECT %(campaign)s, s.id, i.id
    FROM tree t
    JOIN {UNIT_TABLE} s ON s.id = t.id AND s.kind = '{SCHOOL}'
    JOIN {ITEM_TABLE} i ON i.unit_id IN (SELECT up.id FROM up WHERE up.depth > 0)
    WHERE i.list IN ({{lists}})
) AS pairs
WHERE true
ORDER BY school_id, item_id
ON CONFLICT (campaign_id, school_id, item_id) DO NOTHING
"""
_INSERT_CHECKLISTS_SQL = f"""
INSERT INTO {CHECKLIST_TABLE} (campaign_id, school_id, due_at)
SELECT DISTINCT k.campaign_id, k.school_id, %(due_at)s FROM {CHECK_TABLE} k
WHERE k.campaign_id = %(campaign)s
ON CONFLICT (campaign_id, school_id) DO NOTHING
"""
_REOPEN_CHECKLISTS_SQL = f"""
UPDATE {CHECKLIST_TABLE} SET completed_at = NULL
WHERE campaign_id = %(campaign)s AND completed_at IS NOT NULL AND EXISTS (
    SELECT 1 FROM {CHECK_TABLE} k
    WHERE k.campaign_id = %(campaign)s AND k.school_id = {CHECKLIST_TABLE}.school_id AND k.result IS NULL
)
"""


def checks_materialise(*, campaign: Campaign) -> int:
    """Create the missing checks (and checklists) of a campaign; returns how many checks were created."""
    lists = [value for value in campaign.lists if value in ListKind.values]
    params: dict[str, Any] = {"authority": campaign.authority_id, "campaign": campaign.pk, "due_at": campaign.due_at}
    params.update({f"list_{i}": value for i, value in enumerate(lists)})
    in_lists = ", ".join(f"%(list_{i})s" for i in range(len(lists))) or "NULL"
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_CHECKS_SQL.format(lists=in_lists), params)
        created = rows_written(cursor)
        cursor.execute(_INSERT_CHECKLISTS_SQL, params)
        if created:
            cursor.execute(_REOPEN_CHECKLISTS_SQL, params)
    return created


def _campaign_event(type_: EventType, campaign: Campaign, actor: Actor, now: datetime, **data: Any) -> None:
    event_record(type=type_, subject=campaign, actor=actor, now=now, data={"unit": campaign.authority_id, **data})


def _check_lists(lists: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(lists))
    if not chosen:
        raise ValidationFailed(_("Choose one or both lists."), field="lists")
    unknown = [value for value in chosen if value not in ListKind.values]
    if unknown:
        listed = ", ".join(map(str, unknown))
        raise ValidationFailed(_("Unknown list(s): %(lists)s.") % {"lists": listed}, field="lists")
    return chosen


@transaction.atomic
def campaign_create(
    *, actor: Actor, authority: Unit, title: str, lists: list[str], due_at: datetime, now: datetime | None = None
) -> Campaign:
    now = now or timezone.now()
    if authority.kind != UnitKind.AUTHORITY:
        raise ValidationFailed(_("A campaign belongs to an authority."), field="authority")
    if not title.strip():
        raise ValidationFailed(_("Give the campaign a title."), field="title")
    if due_at <= now:
        raise ValidationFailed(_("The deadline must be in the future."), field="due_at")
    campaign = Campaign.objects.create(
        authority=authority,
        title=title,
        lists=_check_lists(lists),
        due_at=due_at,
        year=register_year(due_at),
        created_at=now,
    )
    _campaign_event(EventType.CAMPAIGN_CREATED, campaign, actor, now, title=title, lists=campaign.lists, due_at=due_at)
    return campaign


@transaction.atomic
def campaign_activate(*, actor: Actor, campaign: Campaign, now: datetime | None = None) -> int:
    """One check per school x applicable item. Idempotent: a second call creates nothing."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status == CampaignStatus.CLOSED:
        raise InvalidState(_("A closed campaign cannot be activated."), status=campaign.status)
    if campaign.kind == CampaignKind.CASES:
        raise InvalidState(_("A campaign of case rectifications has no checks to activate."), status=campaign.status)
    created = checks_materialise(campaign=campaign)
    if campaign.status == CampaignStatus.DRAFT:
        campaign.status, campaign.activated_at = CampaignStatus.ACTIVE, now
        campaign.save(update_fields=["status", "activated_at"])
    _campaign_event(EventType.CAMPAIGN_ACTIVATED, campaign, actor, now, checks_created=created)
    return created


@transaction.atomic
def campaign_close(*, actor: Actor, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """Close an active campaign: its checks, checklists and rectifications are no longer chased."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.ACTIVE:
        raise InvalidState(_("Only an active campaign can be closed."), status=campaign.status)
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, now
    campaign.save(update_fields=["status", "closed_at"])
    _campaign_event(EventType.CAMPAIGN_CLOSED, campaign, actor, now)
    return campaign


def cases_campaign(*, authority: Unit, year: int, now: datetime | None = None) -> Campaign:
    """The authority's "<year> case rectifications" campaign (CONTRACT section 8), made active on first
    use; it runs to the end of that year in TIME_ZONE and has no checks of its own."""
    now = now or timezone.now()
    found = Campaign.objects.filter(authority=authority, kind=CampaignKind.CASES, year=year).first()
    if found is not None:
        return found
    end_of_year = datetime(year, 12, 31, 23, 59, 59, tzinfo=timezone.get_current_timezone())
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                authority=authority,
                kind=CampaignKind.CASES,
                title=f"{year} case rectifications",
                lists=[],
                due_at=end_of_year,
                year=year,
                status=CampaignStatus.ACTIVE,
                created_at=now,
                activated_at=now,
            )
    except IntegrityError:  # made by a concurrent first use
        return Campaign.objects.get(authority=authority, kind=CampaignKind.CASES, year=year)
    _campaign_event(EventType.CAMPAIGN_CREATED, campaign, None, now, title=campaign.title, lists=[], kind="cases")
    return campaign
