"""GET /api/v1/dashboards/oversight/?cycle=: per flag, when it opened, the first urge and the hours to
it, the answer and the hours to it, when it resolved; totals against the SLAs (settings, in days).
Supervisors and inspectors over the cycle's schools, like the other district dashboards."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker.reporting.oversight import oversight_report

from .dashboards import CYCLE_PARAM, DefaultCycleQuerySerializer, dashboard_request
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
    cycle = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    sla = OversightSlaSerializer()
    totals = OversightTotalsSerializer()
    flags = OversightFlagSerializer(many=True)


class OversightView(APIView):
    @extend_schema(parameters=[CYCLE_PARAM], responses=OversightSerializer)
    def get(self, request):
        req = dashboard_request(request, query_serializer=DefaultCycleQuerySerializer)
        report = oversight_report(cycle=req.cycle, roots=req.roots, now=timezone.now())
        return Response(OversightSerializer(report).data)
