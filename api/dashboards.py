"""Dashboards: overview (per school, or per child unit with ?unit=), criteria, one school, trend.

Access, in the contract's order: a school account gets 403 on the district views (it holds no
supervisor or inspector role); then ``?cycle=``, by default the latest active cycle in the caller's
scope (400 naming it when there is none, or when it is malformed); a cycle outside the
caller's scope is 404; a caller whose supervisor/inspector roles do not reach the cycle gets 403;
``?unit=`` outside the caller's scope is 404, a unit that is a school or lies outside the cycle 400.

The overview rows are built by tracker.dashboards in the database (as JSON on PostgreSQL) and sent as
they are: running 12,000 rows through DRF serializers, or even through json.dumps, would cost more
than computing them. The serializers below document the shapes in the OpenAPI schema, and the tests
check that the responses match them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import scope
from tracker.assessment.models import Cycle
from tracker.org.models import AUTHORITY_ROLES, Role, Unit, UnitKind
from tracker.reporting.overview import Overview, overview_schools, overview_units
from tracker.reporting.school import criteria_overview, school_overview
from tracker.reporting.trends import trend_series

from .fields import BoundedDateField
from .scoping import require_any_role

MAX_ID = 2**63 - 1
TREND_DEFAULT_DAYS = 90


# --- Query parameters ----------------------------------------------------------------------------------
class DashboardQuerySerializer(serializers.Serializer):
    cycle = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    unit = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class TrendQuerySerializer(DashboardQuerySerializer):
    since = BoundedDateField(required=False)
    until = BoundedDateField(required=False)

    def validate(self, attrs):
        if "since" in attrs and "until" in attrs and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"since": [_("Must not be after until.")]})
        return attrs


class CycleQuerySerializer(serializers.Serializer):
    cycle = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class DefaultCycleQuerySerializer(CycleQuerySerializer):
    cycle = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


CYCLE_PARAM = OpenApiParameter(
    "cycle", OpenApiTypes.INT, required=False, description="the cycle; default: the latest active cycle in scope"
)
SCHOOL_CYCLE_PARAM = OpenApiParameter("cycle", OpenApiTypes.INT, required=True, description="the cycle (required)")
UNIT_PARAM = OpenApiParameter(
    "unit",
    OpenApiTypes.INT,
    required=False,
    description="an authority in scope: one row per child unit (schools, or child authorities rolled up)",
)


@dataclass(frozen=True)
class DashboardRequest:
    cycle: Cycle
    roots: tuple[int, ...]
    unit: Unit | None
    params: dict[str, Any]


def district_view(
    request, query_serializer, name: str, access, texts: tuple[str, str, str]
) -> tuple[Any, tuple[int, ...], Unit | None, dict]:
    """Who may see what of one round (`name`: cycle or campaign), for every district view and export
    (see the module docstring for the order). `access(user, id)` -> (the round or None, its roots);
    `texts`: the refusals, in the reader's language (no such round, no role over it, unit outside)."""
    user = request.user
    require_any_role(user, AUTHORITY_ROLES, "read district dashboards")
    query = query_serializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    params = dict(query.validated_data)
    if name == "cycle" and "cycle" not in params:
        latest = scope.latest_dashboard_cycle(user=user)
        if latest is None:
            raise ValidationError({"cycle": [_("No active cycle in your scope: name one.")]})
        params["cycle"] = latest.pk
    not_found, no_role, outside = texts
    round_, roots = access(user, params[name])
    if round_ is None:
        raise NotFound(not_found)
    if not roots:
        raise PermissionDenied(no_role)
    unit = None
    if "unit" in params:
        unit = Unit.objects.filter(pk=params["unit"]).first()
        if unit is None or not any(scope.has_role_over(user, unit, role) for role in AUTHORITY_ROLES):
            raise NotFound(_("No such unit."))
        if unit.kind != UnitKind.AUTHORITY:
            raise ValidationError({"unit": [_("Must be an authority (see /dashboards/schools/{id}/ for a school).")]})
        if not scope.unit_in_cycle(unit=unit, cycle=round_):
            raise ValidationError({"unit": [outside]})
    return round_, roots, unit, params


def _cycle_access(user, cycle_id: int) -> tuple[Cycle | None, tuple[int, ...]]:
    access = scope.dashboard_access(user=user, cycle_id=cycle_id)
    return access.cycle, access.roots


def dashboard_request(request, *, query_serializer=DashboardQuerySerializer) -> DashboardRequest:
    """Who may see what, for every district view and export of a cycle."""
    texts = (
        _("No such cycle."),
        _("Only a supervisor or inspector over this cycle's schools may read its dashboards."),
        _("Must be the cycle's authority or a unit under it."),
    )
    cycle, roots, unit, params = district_view(request, query_serializer, "cycle", _cycle_access, texts)
    return DashboardRequest(cycle=cycle, roots=roots, unit=unit, params=params)


def overview_for(req: DashboardRequest, *, now) -> Overview:
    """The one overview selector call, shared by the JSON view and the exports."""
    if req.unit is not None:
        return overview_units(cycle=req.cycle, unit=req.unit, now=now)
    return overview_schools(cycle=req.cycle, roots=req.roots, now=now)


def overview_response(overview: Overview) -> HttpResponse:
    """The overview document, its rows spliced in as the database wrote them (no parse, no re-encode)."""
    head: dict[str, Any] = {
        "cycle": overview.cycle.pk,
        "generated_at": timezone.localtime(overview.generated_at).isoformat(),
    }
    if overview.unit is not None:
        unit = overview.unit
        head["unit"] = {"id": unit.pk, "name": unit.name, "kind": unit.kind}
    rows_key = "units" if overview.rolled_up else "schools"
    body = json.dumps(head, ensure_ascii=False)[:-1] + f', "totals": {overview.totals_json}, "{rows_key}": '
    return HttpResponse(body.encode("utf-8") + overview.rows_json_bytes + b"}", content_type="application/json")


# --- Documentation of the response shapes ----------------------------------------------------------------
class DashboardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DashboardUnitRefSerializer(DashboardRefSerializer):
    kind = serializers.ChoiceField(choices=UnitKind.choices)


class DashboardCountsSerializer(serializers.Serializer):
    tasks = serializers.IntegerField()
    approved = serializers.IntegerField()
    submitted = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    not_started = serializers.IntegerField()
    returned = serializers.IntegerField()
    overdue = serializers.IntegerField()
    at_risk = serializers.IntegerField(help_text="open tasks early warning judges at risk of missing their deadline")


ON_TIME_ORIGINAL_HELP = (
    "on time against the original due_at (which extensions never move) / tasks whose original due_at has passed; "
    "null when none has passed"
)


class DashboardRatesSerializer(DashboardCountsSerializer):
    completion_rate = serializers.FloatField(allow_null=True, help_text="approved / tasks, in [0, 1]")
    on_time_rate = serializers.FloatField(
        allow_null=True, help_text="on time / tasks whose due_at has passed; null when none has passed"
    )
    on_time_original_rate = serializers.FloatField(allow_null=True, help_text=ON_TIME_ORIGINAL_HELP)
    extensions = serializers.IntegerField(help_text="extensions granted to these tasks")


class DashboardTotalsSerializer(DashboardRatesSerializer):
    schools = serializers.IntegerField()
    flagged_schools = serializers.IntegerField()


class DashboardSchoolRowSerializer(DashboardRatesSerializer):
    school = DashboardRefSerializer()
    score = serializers.FloatField()
    max_score = serializers.FloatField()
    rank = serializers.IntegerField(help_text="by score desc, then on-time rate desc; ties share a rank")
    flag = serializers.ChoiceField(choices=["warning", "critical"], allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)


class DashboardRollupRowSerializer(DashboardRatesSerializer):
    unit = DashboardUnitRefSerializer()
    schools = serializers.IntegerField()
    score = serializers.FloatField(allow_null=True, help_text="the mean school score")
    max_score = serializers.FloatField(allow_null=True, help_text="the mean school max score")
    rank = serializers.IntegerField()
    flag = serializers.ChoiceField(choices=["warning", "critical"], allow_null=True, help_text="the worst open flag")
    flagged_schools = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


class DashboardOverviewSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    unit = DashboardUnitRefSerializer(required=False, help_text="with ?unit=")
    totals = DashboardTotalsSerializer()
    schools = DashboardSchoolRowSerializer(many=True, required=False, help_text="without ?unit=")
    units = DashboardRollupRowSerializer(many=True, required=False, help_text="with ?unit=")


class DashboardCriterionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class DashboardCriterionRowSerializer(DashboardRatesSerializer):
    criterion = DashboardCriterionRefSerializer()
    category = serializers.CharField()
    due_at = serializers.DateTimeField()
    max_score = serializers.FloatField()
    average_score = serializers.FloatField(allow_null=True, help_text="mean score of the scored tasks")


class DashboardCriteriaSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    criteria = DashboardCriterionRowSerializer(many=True)


class DashboardTaskBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    criterion = DashboardCriterionRefSerializer()
    status = serializers.CharField()
    due_at = serializers.DateTimeField()
    days_overdue = serializers.IntegerField()


class DashboardFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    severity = serializers.CharField()
    overdue_count = serializers.IntegerField()
    max_days_overdue = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    escalated_at = serializers.DateTimeField(allow_null=True)


class DashboardUrgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    respond_by = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    overdue = serializers.BooleanField()


class DashboardSchoolSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    school = DashboardRefSerializer()
    generated_at = serializers.DateTimeField()
    counts = DashboardCountsSerializer()
    completion_rate = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)
    on_time_original_rate = serializers.FloatField(allow_null=True, help_text=ON_TIME_ORIGINAL_HELP)
    extensions = serializers.IntegerField()
    score = serializers.FloatField()
    max_score = serializers.FloatField()
    flag = DashboardFlagSerializer(allow_null=True)
    urges = DashboardUrgeSerializer(many=True, help_text="open urges (not answered yet)")
    overdue_tasks = DashboardTaskBriefSerializer(many=True)
    due_soon = DashboardTaskBriefSerializer(many=True, help_text="open tasks due in the next 14 days")
    at_risk_tasks = DashboardTaskBriefSerializer(many=True, help_text="open tasks at risk of missing their deadline")


class DashboardTrendPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    schools = serializers.IntegerField(required=False, help_text="with ?unit=: schools in the point")
    tasks = serializers.IntegerField()
    approved = serializers.IntegerField()
    submitted = serializers.IntegerField()
    overdue = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)
    on_time_rate = serializers.FloatField(allow_null=True)
    on_time_original_rate = serializers.FloatField(
        allow_null=True, help_text=ON_TIME_ORIGINAL_HELP + " (and on days before it was counted)"
    )
    score = serializers.FloatField(help_text="the school's score; with ?unit= the mean school score")


class DashboardTrendSeriesSerializer(serializers.Serializer):
    school = DashboardRefSerializer(required=False, help_text="without ?unit=")
    unit = DashboardUnitRefSerializer(required=False, help_text="with ?unit=")
    points = DashboardTrendPointSerializer(many=True)


class DashboardTrendSerializer(serializers.Serializer):
    cycle = serializers.IntegerField()
    unit = DashboardUnitRefSerializer(allow_null=True)
    since = serializers.DateField()
    until = serializers.DateField()
    series = DashboardTrendSeriesSerializer(many=True)


# --- Views ---------------------------------------------------------------------------------------------
class OverviewView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=DashboardOverviewSerializer)
    def get(self, request):
        req = dashboard_request(request)
        return overview_response(overview_for(req, now=timezone.now()))


class CriteriaView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM, UNIT_PARAM], responses=DashboardCriteriaSerializer)
    def get(self, request):
        req = dashboard_request(request)
        now = timezone.now()
        roots = (req.unit.pk,) if req.unit is not None else req.roots
        rows = criteria_overview(cycle=req.cycle, roots=roots, now=now)
        return Response({"cycle": req.cycle.pk, "generated_at": timezone.localtime(now), "criteria": rows})


class TrendView(APIView):
    @extend_schema(
        parameters=[
            CYCLE_PARAM,
            UNIT_PARAM,
            OpenApiParameter("since", OpenApiTypes.DATE, description=f"default: {TREND_DEFAULT_DAYS} days ago"),
            OpenApiParameter("until", OpenApiTypes.DATE, description="default: today"),
        ],
        responses=DashboardTrendSerializer,
    )
    def get(self, request):
        req = dashboard_request(request, query_serializer=TrendQuerySerializer)
        until: date = req.params.get("until") or timezone.localdate()
        since: date = req.params.get("since") or min(until, timezone.localdate()) - timedelta(
            days=TREND_DEFAULT_DAYS - 1
        )
        series = trend_series(cycle=req.cycle, since=since, until=until, roots=req.roots, unit=req.unit)
        unit = req.unit
        return Response(
            {
                "cycle": req.cycle.pk,
                "unit": None if unit is None else {"id": unit.pk, "name": unit.name, "kind": unit.kind},
                "since": since,
                "until": until,
                "series": series,
            }
        )


class SchoolDashboardView(APIView):
    """One school: anyone whose scope holds the school (its own accounts, its authorities)."""

    @extend_schema(parameters=[SCHOOL_CYCLE_PARAM], responses=DashboardSchoolSerializer)
    def get(self, request, pk: int):
        user = request.user
        school = Unit.objects.filter(pk=pk, kind=UnitKind.SCHOOL).first() if pk <= MAX_ID else None
        if school is None or not any(scope.has_role_over(user, school, role) for role in Role.values):
            raise NotFound(_("No such school."))
        query = CycleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cycle = scope.dashboard_access(user=user, cycle_id=query.validated_data["cycle"]).cycle
        if cycle is None or not scope.unit_in_cycle(unit=school, cycle=cycle):
            raise NotFound(_("No such cycle for this school."))
        return Response(school_overview(cycle=cycle, school=school, now=timezone.now()))
