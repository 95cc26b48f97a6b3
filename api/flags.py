"""GET /api/v1/flags/?cycle=&school=&open=true: the schools fallen behind, for everyone in scope."""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from tracker import scope
from tracker.monitoring.models import Flag, FlagSeverity

from .filters import StrictBooleanFilter, cycles_in_scope, units_in_scope


class FlagSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)

    class Meta:
        model = Flag
        fields = [
            "id",
            "cycle",
            "school",
            "school_name",
            "severity",
            "overdue_count",
            "max_days_overdue",
            "opened_at",
            "escalated_at",
            "resolved_at",
        ]
        read_only_fields = fields


class FlagFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    open = StrictBooleanFilter(field_name="resolved_at", lookup_expr="isnull")
    severity = filters.ChoiceFilter(choices=FlagSeverity.choices)

    class Meta:
        model = Flag
        fields = ["cycle", "school", "open", "severity"]


class FlagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = FlagSerializer
    filterset_class = FlagFilter
    ordering_fields = ["opened_at", "severity", "overdue_count", "id"]
    ordering = ["-opened_at", "id"]

    def get_queryset(self):
        schools = scope.school_ids_for(self.request.user)
        qs = Flag.objects.select_related("school")
        return qs if schools is None else qs.filter(school_id__in=schools)
