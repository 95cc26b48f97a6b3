"""The integrity dashboard (`GET /api/v1/dashboards/integrity/?campaign=`, `&unit=` for rollups) and the
integrity exports: a school's register and a campaign's results as XLSX, through the one export writer
(api.exports.xlsx_bytes) and the same access rules as the screens (api.campaign_views.campaign_request)."""

from __future__ import annotations

from typing import Any

from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import scope
from tracker.assessment.texts import STATUS_LABELS
from tracker.integrity.models import Check, CheckResult, RegisterStatus
from tracker.integrity.selectors import register_rows
from tracker.integrity.texts import LEVEL_LABELS, LIST_LABELS, POST_LABELS, REGISTER_STATUS_LABELS, said
from tracker.org.models import UnitKind
from tracker.org.tree import schools_under_sql
from tracker.reporting.integrity import integrity_schools, integrity_units

from .campaign_views import CAMPAIGN_PARAM, CampaignRequest, campaign_request
from .dashboards import MAX_ID, UNIT_PARAM
from .exports import (
    COUNT,
    DATETIME,
    HEADERS,
    SHEETS,
    TEXT,
    XLSX_RESPONSE,
    XLSX_TYPE,
    Column,
    Sheet,
    _attachment,
    xlsx_bytes,
)
from .integrity import YEAR_PARAM, requested_year


def integrity_for(req: CampaignRequest, *, now) -> dict[str, Any]:
    """The one dashboard selector call, shared by the JSON view and the export."""
    if req.unit is not None:
        return integrity_units(campaign=req.campaign, unit=req.unit, now=now)
    return integrity_schools(campaign=req.campaign, roots=req.roots, now=now)


# --- Documentation of the response shape -------------------------------------------------------------------
class IntegrityCountsSerializer(serializers.Serializer):
    checks_done = serializers.IntegerField()
    checks_total = serializers.IntegerField()
    findings = serializers.IntegerField()
    rectifications_open = serializers.IntegerField(help_text="not approved yet")
    rectifications_overdue = serializers.IntegerField()
    rectifications_closed = serializers.IntegerField(help_text="approved")
    rectifications_closed_on_time = serializers.IntegerField(
        help_text="approved, its latest submission at or before the due time then in force"
    )
    risk_points = serializers.IntegerField(help_text="in the registers of the campaign's year")
    high_risk_points = serializers.IntegerField()
    high_with_process_map = serializers.IntegerField()


class IntegrityRegistersSerializer(serializers.Serializer):
    draft = serializers.IntegerField()
    submitted = serializers.IntegerField()
    returned = serializers.IntegerField()
    approved = serializers.IntegerField()


class IntegrityRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class IntegrityUnitRefSerializer(IntegrityRefSerializer):
    kind = serializers.ChoiceField(choices=UnitKind.choices)


class IntegritySchoolRowSerializer(IntegrityCountsSerializer):
    school = IntegrityRefSerializer()
    register_status = serializers.ChoiceField(choices=RegisterStatus.choices)


class IntegrityUnitRowSerializer(IntegrityCountsSerializer):
    unit = IntegrityUnitRefSerializer()
    schools = serializers.IntegerField()
    registers = IntegrityRegistersSerializer(help_text="the schools' registers by status")


class IntegrityTotalsSerializer(IntegrityCountsSerializer):
    schools = serializers.IntegerField()
    registers = IntegrityRegistersSerializer()


class IntegrityDashboardSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    unit = IntegrityUnitRefSerializer(required=False, help_text="with ?unit=")
    totals = IntegrityTotalsSerializer()
    schools = IntegritySchoolRowSerializer(many=True, required=False, help_text="without ?unit=")
    units = IntegrityUnitRowSerializer(many=True, required=False, help_text="with ?unit=")


class IntegrityDashboardView(APIView):
    @extend_schema(parameters=[CAMPAIGN_PARAM, UNIT_PARAM], responses=IntegrityDashboardSerializer)
    def get(self, request):
        req = campaign_request(request)
        return Response(IntegrityDashboardSerializer(integrity_for(req, now=timezone.now())).data)


# --- Exports ---------------------------------------------------------------------------------------------
# The integrity columns and sheets, in the caller's language (api.exports writes every header through these).
HEADERS.update(
    {
        "checks_done": pgettext_lazy("export column", "checks_done"),
        "checks_total": pgettext_lazy("export column", "checks_total"),
        "findings": pgettext_lazy("export column", "findings"),
        "rectifications_open": pgettext_lazy("export column", "rectifications_open"),
        "rectifications_overdue": pgettext_lazy("export column", "rectifications_overdue"),
        "rectifications_closed": pgettext_lazy("export column", "rectifications_closed"),
        "rectifications_closed_on_time": pgettext_lazy("export column", "rectifications_closed_on_time"),
        "risk_points": pgettext_lazy("export column", "risk_points"),
        "high_risk_points": pgettext_lazy("export column", "high_risk_points"),
        "high_with_process_map": pgettext_lazy("export column", "high_with_process_map"),
        "register_status": pgettext_lazy("export column", "register_status"),
        "registers_draft": pgettext_lazy("export column", "registers_draft"),
        "registers_submitted": pgettext_lazy("export column", "registers_submitted"),
        "registers_returned": pgettext_lazy("export column", "registers_returned"),
        "registers_approved": pgettext_lazy("export column", "registers_approved"),
        "list": pgettext_lazy("export column", "list"),
        "item_code": pgettext_lazy("export column", "item_code"),
        "item": pgettext_lazy("export column", "item"),
        "finding": pgettext_lazy("export column", "finding"),
        "rectify_by": pgettext_lazy("export column", "rectify_by"),
        "task": pgettext_lazy("export column", "task"),
        "task_status": pgettext_lazy("export column", "task_status"),
        "submitted_at": pgettext_lazy("export column", "submitted_at"),
        "risk_point": pgettext_lazy("export column", "risk_point"),
        "level": pgettext_lazy("export column", "level"),
        "post": pgettext_lazy("export column", "post"),
        "measures": pgettext_lazy("export column", "measures"),
        "process_map": pgettext_lazy("export column", "process_map"),
    }
)
SHEETS.update(
    {
        "Schools": pgettext_lazy("export sheet", "Schools"),
        "Units": pgettext_lazy("export sheet", "Units"),
        "Findings": pgettext_lazy("export sheet", "Findings"),
        "Register": pgettext_lazy("export sheet", "Register"),
    }
)


def _field(name: str):
    return lambda row: row[name]


def _steps(risk) -> str:
    control = pgettext("process map", "control")
    return " → ".join(
        f"{s['step']}({s['role']}){' [' + control + ']' if s.get('control') else ''}" for s in risk.process_map
    )


_COUNT_COLUMNS = [Column(name, _field(name), COUNT) for name in IntegrityCountsSerializer().fields]
SCHOOL_COLUMNS = [
    Column("school_id", lambda row: row["school"]["id"], COUNT, 10),
    Column("school", lambda row: row["school"]["name"], TEXT, 36),
    *_COUNT_COLUMNS,
    Column("register_status", lambda row: said(REGISTER_STATUS_LABELS, row["register_status"]), TEXT, 12),
]
UNIT_COLUMNS = [
    Column("unit_id", lambda row: row["unit"]["id"], COUNT, 10),
    Column("unit", lambda row: row["unit"]["name"], TEXT, 36),
    Column("schools", _field("schools"), COUNT),
    *_COUNT_COLUMNS,
    *[
        Column(f"registers_{s}", lambda row, s=s: row["registers"][s], COUNT)
        for s in IntegrityRegistersSerializer().fields
    ],
]
FINDING_COLUMNS = [
    Column("school", lambda c: c.school.name, TEXT, 36),
    Column("list", lambda c: said(LIST_LABELS, c.item.list), TEXT, 16),
    Column("item_code", lambda c: c.item.code, TEXT, 10),
    Column("item", lambda c: c.item.title, TEXT, 30),
    Column("finding", lambda c: c.finding, TEXT, 48),
    Column("rectify_by", lambda c: c.rectify_by, DATETIME, 18),
    Column("task", lambda c: c.task_id, COUNT, 10),
    Column("task_status", lambda c: said(STATUS_LABELS, c.task.status) if c.task_id else "", TEXT, 14),
    Column("submitted_at", lambda c: c.task.submitted_at if c.task_id else None, DATETIME, 18),
]
REGISTER_COLUMNS = [
    Column("list", lambda r: said(LIST_LABELS, r.item.list), TEXT, 16),
    Column("item_code", lambda r: r.item.code, TEXT, 10),
    Column("item", lambda r: r.item.title, TEXT, 30),
    Column("risk_point", lambda r: r.description, TEXT, 48),
    Column("level", lambda r: said(LEVEL_LABELS, r.level), TEXT, 8),
    Column("post", lambda r: said(POST_LABELS, r.post), TEXT, 16),
    Column("measures", lambda r: "\n".join(r.measures), TEXT, 48),
    Column("process_map", _steps, TEXT, 48),
]


def _findings(req: CampaignRequest):
    roots = (req.unit.pk,) if req.unit is not None else req.roots
    return (
        Check.objects.filter(
            campaign=req.campaign, result=CheckResult.FINDING, school_id__in=RawSQL(*schools_under_sql(sorted(roots)))
        )
        .select_related("school", "item", "task")
        .order_by("school__name", "item__list", "item__code", "id")
    )


class CampaignXlsxView(APIView):
    """A campaign's results: the dashboard's rows (schools, or child units with ?unit=) and its findings."""

    @extend_schema(parameters=[CAMPAIGN_PARAM, UNIT_PARAM], responses=XLSX_RESPONSE)
    def get(self, request):
        req = campaign_request(request)
        report = integrity_for(req, now=timezone.now())
        if req.unit is not None:
            first = Sheet("Units", UNIT_COLUMNS, report["units"], freeze="C2")
        else:
            first = Sheet("Schools", SCHOOL_COLUMNS, report["schools"], freeze="C2")
        sheets = [first, Sheet("Findings", FINDING_COLUMNS, list(_findings(req)), freeze="B2")]
        suffix = f"-unit-{req.unit.pk}" if req.unit is not None else ""
        return _attachment(xlsx_bytes(sheets), XLSX_TYPE, f"integrity-campaign-{req.campaign.pk}{suffix}.xlsx")


class RegisterQuerySerializer(serializers.Serializer):
    school = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class RegisterXlsxView(APIView):
    """One school's register of a year: item, risk point, level, post, measures, process map."""

    @extend_schema(
        parameters=[OpenApiParameter("school", OpenApiTypes.INT, required=True), YEAR_PARAM],
        responses=XLSX_RESPONSE,
    )
    def get(self, request):
        query = RegisterQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        school = (
            scope.units_visible(request.user).filter(pk=query.validated_data["school"], kind=UnitKind.SCHOOL).first()
        )
        if school is None:
            raise NotFound(_("No such school."))
        year = requested_year(request)
        sheet = Sheet("Register", REGISTER_COLUMNS, list(register_rows(school_id=school.pk, year=year)), freeze="D2")
        return _attachment(xlsx_bytes([sheet]), XLSX_TYPE, f"integrity-register-{school.pk}-{year}.xlsx")
