"""Urges: GET, POST /api/v1/urges/ (a supervisor urges a school of a cycle or of an integrity campaign),
POST /urges/{id}/respond/
(the school answers). Order of judgement: 404 out of scope, 403 wrong role, 400 bad body, 409 state."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from tracker import scope
from tracker.assessment.models import Cycle
from tracker.integrity.models import Campaign
from tracker.monitoring.models import Urge
from tracker.monitoring.services import urge_create, urge_respond
from tracker.org.models import Role, Unit

from .fields import DeadlineField
from .filters import StrictBooleanFilter, campaigns_in_scope, cycles_in_scope, units_in_scope
from .scoping import require_any_role, require_role
from .serializers import ScopedPrimaryKeyRelatedField, StrictSerializer, units_supervised, validated


class UrgeSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    responded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Urge
        fields = [
            "id",
            "cycle",
            "campaign",
            "school",
            "school_name",
            "message",
            "respond_by",
            "created_by",
            "created_at",
            "response",
            "responded_by",
            "responded_at",
        ]
        read_only_fields = fields


class UrgeCreateSerializer(StrictSerializer):
    """About a cycle or an integrity campaign: exactly one of the two."""

    # Resolved within the caller's scope: a cycle, campaign or school outside it reads as one that does not exist.
    cycle = ScopedPrimaryKeyRelatedField(
        scoped=scope.cycles_visible, queryset=Cycle.objects.all(), required=False, allow_null=True
    )
    campaign = ScopedPrimaryKeyRelatedField(
        scoped=scope.campaigns_visible, queryset=Campaign.objects.all(), required=False, allow_null=True
    )
    school = ScopedPrimaryKeyRelatedField(scoped=units_supervised, queryset=Unit.objects.all())
    message = serializers.CharField(max_length=5000)
    respond_by = DeadlineField()

    def validate(self, attrs):
        if (attrs.get("cycle") is None) == (attrs.get("campaign") is None):
            raise serializers.ValidationError({"cycle": [_("Name a cycle or a campaign (one of the two).")]})
        return attrs


class UrgeRespondSerializer(StrictSerializer):
    response = serializers.CharField(max_length=5000)


class UrgeFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)
    campaign = filters.ModelChoiceFilter(queryset=campaigns_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    answered = StrictBooleanFilter(field_name="responded_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Urge
        fields = ["cycle", "campaign", "school", "answered"]


class UrgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = UrgeSerializer
    filterset_class = UrgeFilter
    ordering_fields = ["created_at", "respond_by", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        schools = scope.school_ids_for(self.request.user)
        qs = Urge.objects.select_related("school", "created_by", "responded_by")
        return qs if schools is None else qs.filter(school_id__in=schools)

    def get_serializer_class(self):
        return UrgeCreateSerializer if self.action == "create" else UrgeSerializer

    @extend_schema(request=UrgeCreateSerializer, responses={201: UrgeSerializer})
    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "urge schools")
        data = validated(UrgeCreateSerializer, request)  # school, cycle and campaign: within the caller's scope
        school, cycle, campaign = data["school"], data.get("cycle"), data.get("campaign")
        urge = urge_create(
            actor=request.user,
            cycle=cycle,
            campaign=campaign,
            school=school,
            message=data["message"],
            respond_by=data["respond_by"],
        )
        return Response(UrgeSerializer(urge).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UrgeRespondSerializer, responses=UrgeSerializer)
    @action(detail=True, methods=["post"])
    def respond(self, request, pk=None):
        urge = self.get_object()
        require_role(request.user, urge.school_id, Role.SCHOOL, "answer urges")
        data = validated(UrgeRespondSerializer, request)
        urge = urge_respond(actor=request.user, urge=urge, response=data["response"])
        return Response(UrgeSerializer(urge).data)
