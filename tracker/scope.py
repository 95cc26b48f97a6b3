"""Who sees what: the one scoping definition every view, dashboard, export and page goes through.

A school account sees only its own school. A supervisor or inspector sees every unit under their
authority, at any depth. Superusers see everything. Out of scope reads exactly like not found.

Spans the contexts (units, cycles, tasks, the event log), so it sits above them; the tree walks
themselves are tracker.org.tree's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import RawSQL

from tracker.assessment.fairness_models import Appeal, ExtensionRequest
from tracker.assessment.models import Cycle, CycleStatus, Task
from tracker.audit.models import Event
from tracker.audit.types import Actor
from tracker.inspections.models import Case, Inspection, Notice
from tracker.integrity.models import Campaign, Check, ListItem, RiskPoint
from tracker.memo import memo_get, memo_put, memoized
from tracker.org.models import AUTHORITY_ROLES, Membership, Role, Unit, UnitKind
from tracker.org.tree import (
    ancestor_ids,
    ancestor_map,
    ancestry_cte,
    descendant_ids,
    units_above_sql,
    units_under_sql,
)

M = TypeVar("M", bound=Model)


def _membership_rows(user: Actor) -> tuple[tuple[int, str], ...]:
    """The caller's (unit id, role) pairs, asked once per request (tracker.memo)."""
    return memoized(
        ("memberships", user.pk),
        lambda: tuple(Membership.objects.filter(user_id=user.pk).values_list("unit_id", "role")),
    )


def _unit_ids(user: Actor, roles: Iterable[str] | None = None) -> set[int]:
    """The units the caller holds one of `roles` on (any role for None)."""
    rows = _membership_rows(user)
    if roles is None:
        return {unit for unit, _ in rows}
    wanted = set(roles)
    return {unit for unit, role in rows if role in wanted}


def unit_ids_for(user: Actor, roles: Iterable[str] | None = None) -> set[int] | None:
    """Ids of the units `user` reaches through the given roles; None means every unit (superuser)."""
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return None
    roles = list(roles) if roles is not None else list(Role.values)
    ids: set[int] = set()
    authority_roots = _unit_ids(user, [r for r in roles if r in AUTHORITY_ROLES])
    if authority_roots:
        ids |= descendant_ids(authority_roots)
    if Role.SCHOOL in roles:
        ids |= _unit_ids(user, [Role.SCHOOL])
    return ids


def _reach_q(user: Actor, field: str, kind: str | None) -> Q | None:
    """Rows whose `field` names a unit (of `kind`, None: any) the caller reaches: its own school accounts'
    schools and the units under its authorities, walked in the database when the rows are read (no query
    now, whatever the size of the scope). None: every row (superuser)."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_superuser:
        return None
    visible = Q(**{f"{field}__in": sorted(_unit_ids(user, [Role.SCHOOL]))})
    roots = _unit_ids(user, AUTHORITY_ROLES)
    if roots:
        visible |= Q(**{f"{field}__in": RawSQL(*units_under_sql(sorted(roots), kind))})
    return visible


def _in_reach(user: Actor, queryset: QuerySet[M], field: str, kind: str | None = UnitKind.SCHOOL) -> QuerySet[M]:
    visible = _reach_q(user, field, kind)
    return queryset if visible is None else queryset.filter(visible)


def units_visible(user: Actor) -> QuerySet[Unit]:
    return _in_reach(user, Unit.objects.all(), "id", None)


def school_ids_for(user: Actor, roles: Iterable[str] | None = None) -> set[int] | None:
    ids = unit_ids_for(user, roles)
    if ids is None:
        return None
    return set(Unit.objects.filter(id__in=ids, kind=UnitKind.SCHOOL).values_list("id", flat=True))


def tasks_visible(user: Actor, within: QuerySet[Task] | None = None) -> QuerySet[Task]:
    """The tasks `user` sees; of `within` (every task, shaped as the caller reads them) when given."""
    return _of_schools_in_scope(user, Task) if within is None else _in_reach(user, within, "school_id")


def task_visible(user: Actor, pk: object, queryset: QuerySet[Task] | None = None) -> Task | None:
    """tasks_visible(user).filter(pk=pk).first() for one task, without listing the scope: the task by its
    key, then the roles the caller holds over its school (one walk up the tree). `queryset` (unscoped)
    says what to fetch with it. None when it does not exist or lies outside the caller's scope."""
    try:
        task = (Task.objects.all() if queryset is None else queryset).filter(pk=pk).first()
    except (TypeError, ValueError):  # not a key at all: not found either
        return None
    return task if task is not None and roles_over(user, task.school_id) else None


def _in_scope_or_above(
    user: Actor, model: type[M], field: str, kinds: tuple[str, ...] = (UnitKind.AUTHORITY,)
) -> QuerySet[M]:
    """Rows whose `field` unit (of one of `kinds`) is in the caller's scope or above one of the caller's
    units (a school sees its district's cycles and campaigns, and the lists of every authority above it).
    Both walks run in the database when the rows are read."""
    if not user.is_authenticated:
        return model.objects.none()
    if user.is_superuser:
        return model.objects.all()
    visible = Q(**{f"{field}__in": RawSQL(*units_above_sql(sorted(_unit_ids(user))))})
    roots = _unit_ids(user, AUTHORITY_ROLES)
    if roots:
        # Walk the units of those kinds under the caller's roots, not every school (12,000 ids for a
        # province) when only authorities can hold the rows.
        for kind in kinds:
            visible |= Q(**{f"{field}__in": RawSQL(*units_under_sql(sorted(roots), kind))})
    return model.objects.filter(visible)


def _of_schools_in_scope(user: Actor, model: type[M]) -> QuerySet[M]:
    return _in_reach(user, model.objects.all(), "school_id")


def extension_requests_visible(user: Actor) -> QuerySet[ExtensionRequest]:
    """The extension requests of the tasks `user` sees (a school: its own)."""
    return _in_reach(user, ExtensionRequest.objects.all(), "task__school_id")


def appeals_visible(user: Actor) -> QuerySet[Appeal]:
    """The appeals of the tasks `user` sees (a school: its own)."""
    return _in_reach(user, Appeal.objects.all(), "task__school_id")


def cycles_visible(user: Actor) -> QuerySet[Cycle]:
    """Cycles run by an authority in the caller's scope or above it (a school sees its district's)."""
    return _in_scope_or_above(user, Cycle, "authority_id")


# --- Integrity programme (CONTRACT section 8) --------------------------------------------------------------
def campaigns_visible(user: Actor) -> QuerySet[Campaign]:
    """Campaigns of an authority in the caller's scope or above it (a school sees its district's)."""
    return _in_scope_or_above(user, Campaign, "authority_id")


def units_visible_or_above(user: Actor) -> QuerySet[Unit]:
    """The units in the caller's scope and those above the caller's units (whose items apply to them)."""
    return _in_scope_or_above(user, Unit, "id", (UnitKind.AUTHORITY, UnitKind.SCHOOL))


def list_items_visible(user: Actor) -> QuerySet[ListItem]:
    """The lists' items that apply to the caller's units (their authorities' and their own) and every
    item of a unit in the caller's scope. Another school's own items are not among them."""
    return _in_scope_or_above(user, ListItem, "unit_id", (UnitKind.AUTHORITY, UnitKind.SCHOOL))


def risk_points_visible(user: Actor) -> QuerySet[RiskPoint]:
    return _of_schools_in_scope(user, RiskPoint)


def checks_visible(user: Actor) -> QuerySet[Check]:
    return _of_schools_in_scope(user, Check)


def roles_over(user: Actor, unit: Unit | int) -> frozenset[str]:
    """The roles `user` holds over `unit`: `school` on the unit itself, `supervisor` and `inspector` on it or
    on any unit above it; every role for a superuser. One query at most, once per request and unit: the
    caller's memberships, each marked whether it sits on the unit's path up the tree."""
    if not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return frozenset(Role.values)
    unit_id = unit if isinstance(unit, int) else unit.pk
    return memoized(("roles_over", user.pk, unit_id), lambda: _roles_over(user, unit_id))


def _roles_over(user: Actor, unit_id: int) -> frozenset[str]:
    known = memo_get(("memberships", user.pk))
    if known is not None and not any(role in AUTHORITY_ROLES for _, role in known):
        return frozenset(role for unit, role in known if unit == unit_id)  # school accounts: no walk
    sql = (
        f"WITH RECURSIVE {ancestry_cte([unit_id])} SELECT m.unit_id, m.role, "
        f"CASE WHEN m.unit_id IN (SELECT id FROM up) THEN 1 ELSE 0 END "
        f"FROM {Membership._meta.db_table} m WHERE m.user_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [unit_id, user.pk])
        rows = cursor.fetchall()
    memo_put(("memberships", user.pk), tuple((unit, role) for unit, role, _ in rows))
    return frozenset(
        role
        for unit, role, on_path in rows
        if (role == Role.SCHOOL and unit == unit_id) or (role in AUTHORITY_ROLES and on_path)
    )


def has_role_over(user: Actor, unit: Unit | int, role: str) -> bool:
    """Whether `user` may act as `role` on `unit` (a school for school actions, any unit otherwise)."""
    return role in roles_over(user, unit)


def roles_of(user: Actor) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Role.values)
    return {role for _, role in _membership_rows(user)}


# Events about these subjects that concern no school carry the unit they belong to in `data.unit`:
# accounts created at an authority, an authority's list items and campaigns.
UNIT_RECORDED_SUBJECTS = ("user", ListItem._meta.model_name, Campaign._meta.model_name)


def events_visible(user: Actor) -> QuerySet[Event]:
    """The event log a supervisor or inspector may read: events about a school in scope, about a cycle
    in scope that concern no school, about a unit in scope, or about an account, list item or campaign
    of an authority in scope (a school's carry the school). Anyone else reads none of it."""
    if user.is_superuser:
        return Event.objects.all()
    if not (roles_of(user) & set(AUTHORITY_ROLES)):
        return Event.objects.none()
    units_in_scope = unit_ids_for(user, AUTHORITY_ROLES) or set()
    cycles = cycles_visible(user).values("id")
    return Event.objects.filter(
        Q(school_id__in=units_in_scope)
        | Q(school__isnull=True, cycle_id__in=cycles)
        | Q(
            school__isnull=True,
            cycle__isnull=True,
            subject_type="unit",
            subject_id__in=[str(i) for i in units_in_scope],
        )
        | Q(
            school__isnull=True,
            cycle__isnull=True,
            subject_type__in=UNIT_RECORDED_SUBJECTS,
            data__unit__in=list(units_in_scope),
        )
        # Inspection rounds and cases: their events carry their authority (a case's also its school).
        | Q(
            school__isnull=True,
            cycle__isnull=True,
            subject_type__in=["inspection", "case"],
            data__authority__in=list(units_in_scope),
        )
    )


# --- Inspections, cases and notices (CONTRACT section 9) ------------------------------------------------
def inspections_visible(user: Actor) -> QuerySet[Inspection]:
    """Rounds of the authorities the user reaches as a supervisor or inspector; schools see none."""
    ids = unit_ids_for(user, AUTHORITY_ROLES)
    return Inspection.objects.all() if ids is None else Inspection.objects.filter(authority_id__in=ids)


def cases_visible(user: Actor) -> QuerySet[Case]:
    """Cases the user may read: the authority's supervisors and inspectors (and those above). A school
    account reads no case, published or not: it reads the redacted notice (404 on every case)."""
    ids = unit_ids_for(user, AUTHORITY_ROLES)
    return Case.objects.all() if ids is None else Case.objects.filter(authority_id__in=ids)


def notices_visible(user: Actor) -> QuerySet[Notice]:
    """Notices of the authorities at or above the user's units (a school reads its district's), and of
    those in the user's scope (a city's staff read their districts')."""
    if not user.is_authenticated:
        return Notice.objects.none()
    if user.is_superuser:
        return Notice.objects.all()
    own = _unit_ids(user)
    below = unit_ids_for(user) or set()
    return Notice.objects.filter(Q(authority_id__in=ancestor_ids(own)) | Q(authority_id__in=below))


# --- Dashboards: one cycle, decided without listing the whole scope ----------------------------------------
@dataclass(frozen=True)
class DashboardAccess:
    """What a caller may see of one cycle's dashboards.

    `cycle` is None when the cycle does not exist or lies outside the caller's scope (404). `roots`
    are the units whose schools the caller sees as a supervisor or inspector: the cycle's authority
    when the caller sits at or above it, else the caller's own authorities under it (a district
    supervisor in a province-wide cycle sees their district). Empty: no such role over the cycle (403).
    """

    cycle: Cycle | None
    roots: tuple[int, ...] = ()


def dashboard_access(*, user: Actor, cycle_id: int) -> DashboardAccess:
    """scope.cycles_visible(user).filter(pk=cycle_id), decided in three queries whatever the tree's size.

    cycles_visible lists every unit under the caller's authorities (12,000 ids for a province); this
    asks the same question of one cycle by walking up from the cycle's authority and the caller's units
    instead. tests/tracker/reporting/test_dashboards.py checks that both answer alike for every caller and cycle.
    """
    cycle = Cycle.objects.filter(pk=cycle_id).first()
    roots = _round_roots(user=user, authority_id=cycle.authority_id) if cycle is not None else None
    return DashboardAccess(cycle=None) if roots is None else DashboardAccess(cycle=cycle, roots=roots)


@dataclass(frozen=True)
class CampaignAccess:
    """DashboardAccess for an integrity campaign: None when out of scope (404), no roots: 403."""

    campaign: Campaign | None
    roots: tuple[int, ...] = ()


def campaign_access(*, user: Actor, campaign_id: int) -> CampaignAccess:
    """dashboard_access for a campaign: campaigns_visible(user).filter(pk=...) and the roots seen."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    roots = _round_roots(user=user, authority_id=campaign.authority_id) if campaign is not None else None
    return CampaignAccess(campaign=None) if roots is None else CampaignAccess(campaign=campaign, roots=roots)


def _round_roots(*, user: Actor, authority_id: int) -> tuple[int, ...] | None:
    """For a round (cycle or campaign) of `authority_id`: None when the caller may not see it, else the
    roots whose schools the caller sees in it (empty: no supervisor or inspector role over it)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return (authority_id,)
    memberships = _membership_rows(user)
    own = {unit for unit, _ in memberships}
    authority_roots = {unit for unit, role in memberships if role in AUTHORITY_ROLES}
    ancestors = ancestor_map(own | {authority_id})
    above_round = ancestors[authority_id]
    # Visible: the round's authority is one of the caller's units or above one (a school sees its
    # district's rounds), or it lies under a unit the caller holds as supervisor or inspector.
    if not (any(authority_id in ancestors[unit] for unit in own) or above_round & authority_roots):
        return None
    if above_round & authority_roots:
        return (authority_id,)
    below = {unit for unit in authority_roots if authority_id in ancestors[unit]}
    # A root nested under another root adds nothing.
    return tuple(sorted(unit for unit in below if not (ancestors[unit] - {unit}) & below))


def latest_dashboard_cycle(*, user: Actor) -> Cycle | None:
    """The default cycle of the district dashboards: the latest activated active cycle in the caller's
    scope whose dashboards the caller may read (None when there is none)."""
    active = cycles_visible(user).filter(status=CycleStatus.ACTIVE).order_by("-activated_at", "-id")
    for cycle_id in active.values_list("pk", flat=True)[:100]:
        if dashboard_access(user=user, cycle_id=cycle_id).roots:
            return Cycle.objects.get(pk=cycle_id)
    return None


def unit_in_cycle(*, unit: Unit, cycle: Cycle | Campaign) -> bool:
    """Whether `unit` is the round's (cycle's or campaign's) authority or a unit under it."""
    return cycle.authority_id in ancestor_map([unit.pk])[unit.pk]
