"""Published notices: GET /api/v1/notices/ (newest first), GET /api/v1/notices/{id}/ (CONTRACT section 9).

Every account of the publishing authority and of every unit under it reads them, schools included.
A notice holds only redacted text (surname + 某); its title and body come in the reader's language.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from tracker import scope
from tracker.inspections.models import CaseType, Notice
from tracker.inspections.texts import notice_body, notice_title

from .filters import YearFilter, authorities_in_scope


class NoticeSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    body = serializers.SerializerMethodField(
        help_text="type, date, persons (surname + 某), summary and disposition, names redacted"
    )

    class Meta:
        model = Notice
        fields = ["id", "case", "authority", "type", "occurred_on", "title", "body", "published_at"]
        read_only_fields = fields

    def get_title(self, notice: Notice) -> str:
        return notice_title(notice)

    def get_body(self, notice: Notice) -> str:
        return notice_body(notice)


class NoticeFilter(filters.FilterSet):
    authority = filters.ModelChoiceFilter(queryset=authorities_in_scope)
    type = filters.ChoiceFilter(choices=CaseType.choices)
    year = YearFilter(field_name="published_at__year")

    class Meta:
        model = Notice
        fields = ["authority", "type", "year"]


class NoticeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter
    ordering_fields = ["published_at", "id"]
    ordering = ["-published_at", "-id"]

    def get_queryset(self):
        return scope.notices_visible(self.request.user)
