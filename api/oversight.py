"""GET /api/v1/dashboards/oversight/?cycle= (or ?campaign=, an integrity campaign): per flag, when it
opened, the first urge and the hours to it, the answer and the hours to it, when it resolved; totals
against the SLAs (settings, in days). Supervisors and inspectors over the round's schools, like the
other district dashboards."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.org.models import AUTHORITY_ROLES
from tracker.reporting.oversight import oversight_report

from .campaign_views import campaign_request
from .dashboards import MAX_ID, dashboard_request
from .scoping import require_any_role
from .serializers import SchoolRefSerializer


class OversightTotalsSerializer(serializers.Serializer):
    flags = serializers.IntegerField()
    open = serializers.IntegerField()
    urged = serializers.IntegerField()
    urged_within_sla = serializers.IntegerField()
    not_urged_past_sla = serializers.IntegerField()
    answered = serializers.IntegerField()
    answered_within_sla = serializers.IntegerField()


class OversightFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    school = SchoolRefSerializer()
    severity = serializers.CharField()
    overdue_count = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    escalated_at = serializers.DateTimeField(allow_null=True)
    first_urge_at = serializers.DateTimeField(allow_null=True)
    urge = serializers.IntegerField(allow_null=True)
    urged_by = serializers.CharField(allow_null=True)
    hours_to_urge = serializers.FloatField(allow_null=True)
    responded_at = serializers.DateTimeField(allow_null=True)
    hours_to_response = serializers.FloatField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class OversightSlaSerializer(serializers.Serializer):
    urge_days = serializers.FloatField()
    response_days = serializers.FloatField()


class OversightSerializer(serializers.Serializer):
    cycle = serializers.IntegerField(required=False, help_text="with ?cycle=")
    campaign = serializers.IntegerField(required=False, help_text="with ?campaign=")
    generated_at = serializers.DateTimeField()
    sla = OversightSlaSerializer()
    totals = OversightTotalsSerializer()
    flags = OversightFlagSerializer(many=True)


class OversightQuerySerializer(serializers.Serializer):
    cycle = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    campaign = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    def validate(self, attrs):
        if "cycle" in attrs and "campaign" in attrs:
            raise serializers.ValidationError({"cycle": [_("Name a cycle or a campaign (one of the two).")]})
        return attrs


class OversightView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "cycle", OpenApiTypes.INT, description="the cycle (or campaign); default: the latest active cycle"
            ),
            OpenApiParameter("campaign", OpenApiTypes.INT, description="an integrity campaign (this or cycle)"),
        ],
        responses=OversightSerializer,
    )
    def get(self, request):
        require_any_role(request.user, AUTHORITY_ROLES, "read district dashboards")
        query = OversightQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "campaign" in query.validated_data:
            round_ = campaign_request(request, query_serializer=OversightQuerySerializer)
            report = oversight_report(cycle=round_.campaign, roots=round_.roots, now=timezone.now())
        else:  # the cycle named, or the latest active one in scope
            req = dashboard_request(request, query_serializer=OversightQuerySerializer)
            report = oversight_report(cycle=req.cycle, roots=req.roots, now=timezone.now())
        return Response(OversightSerializer(report).data)
