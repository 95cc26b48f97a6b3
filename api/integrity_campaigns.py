"""Integrity programme, the self-inspection (CONTRACT section 8): campaigns, their activation, and the
checks a school records, a finding creating its rectification task.

Order of judgement, as everywhere: 404 out of scope, 403 the wrong role, 400 a bad body, 409 the wrong
state (a check recorded twice, a closed campaign).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from tracker import scope
from tracker.integrity import campaign_services, check_services
from tracker.integrity.models import Campaign, CampaignKind, Check, CheckResult, ListItem, ListKind
from tracker.org.models import Role, Unit, UnitKind

from .fields import DeadlineField
from .scoping import require_any_role, require_role
from .serializers import ScopedPrimaryKeyRelatedField, StrictSerializer, validated


# --- Campaigns ------------------------------------------------------------------------------------------
class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "authority", "kind", "title", "lists", "due_at", "year", "status", "activated_at", "closed_at"]
        read_only_fields = fields


class CampaignCreateSerializer(StrictSerializer):
    authority = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.filter(kind=UnitKind.AUTHORITY)
    )
    title = serializers.CharField(max_length=200)
    lists = serializers.ListField(child=serializers.ChoiceField(choices=ListKind.choices), allow_empty=False)
    due_at = DeadlineField()


class ChecksCreatedSerializer(serializers.Serializer):
    checks_created = serializers.IntegerField()


class CampaignFilter(filters.FilterSet):
    authority = filters.ModelChoiceFilter(
        queryset=lambda request: scope.units_visible_or_above(request.user) if request else Unit.objects.none()
    )
    kind = filters.ChoiceFilter(choices=CampaignKind.choices)

    class Meta:
        model = Campaign
        fields = ["status", "authority", "kind"]


class CampaignViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    ordering_fields = ["due_at", "id"]
    ordering = ["-due_at", "id"]

    def get_queryset(self):
        return scope.campaigns_visible(self.request.user)

    def get_serializer_class(self):
        return CampaignCreateSerializer if self.action == "create" else CampaignSerializer

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "launch campaigns")
        data = validated(CampaignCreateSerializer, request)
        if not scope.has_role_over(request.user, data["authority"], Role.SUPERVISOR):
            raise ValidationError({"authority": [_("Must be an authority in your scope.")]})
        campaign = campaign_services.campaign_create(actor=request.user, **data)
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ChecksCreatedSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        campaign = self.get_object()
        require_role(request.user, campaign.authority_id, Role.SUPERVISOR, "activate campaigns")
        validated(StrictSerializer, request)
        return Response({"checks_created": campaign_services.campaign_activate(actor=request.user, campaign=campaign)})

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        campaign = self.get_object()
        require_role(request.user, campaign.authority_id, Role.SUPERVISOR, "close campaigns")
        validated(StrictSerializer, request)
        campaign = campaign_services.campaign_close(actor=request.user, campaign=campaign)
        return Response(CampaignSerializer(campaign).data)


# --- Checks ---------------------------------------------------------------------------------------------
class FindingSerializer(StrictSerializer):
    description = serializers.CharField(max_length=5000)
    rectify_by = DeadlineField()


class CheckSerializer(serializers.ModelSerializer):
    list = serializers.CharField(source="item.list", read_only=True)
    item_code = serializers.CharField(source="item.code", read_only=True)
    item_title = serializers.CharField(source="item.title", read_only=True)
    finding = serializers.SerializerMethodField()

    class Meta:
        model = Check
        fields = [
            "id",
            "campaign",
            "school",
            "item",
            "list",
            "item_code",
            "item_title",
            "result",
            "note",
            "checked_at",
            "finding",
            "task",
        ]
        read_only_fields = fields

    @extend_schema_field(FindingSerializer(allow_null=True))
    def get_finding(self, check: Check) -> dict | None:
        if check.result != CheckResult.FINDING:
            return None
        return FindingSerializer({"description": check.finding, "rectify_by": check.rectify_by}).data


class CheckRecordSerializer(StrictSerializer):
    result = serializers.ChoiceField(choices=CheckResult.choices)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    finding = FindingSerializer(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs["result"] == CheckResult.FINDING and not attrs.get("finding"):
            raise ValidationError({"finding": [_("A finding needs its description and the deadline to put it right.")]})
        if attrs["result"] == CheckResult.OK and attrs.get("finding"):
            raise ValidationError({"finding": [_("Only a finding carries the details of a finding.")]})
        return attrs


class CheckFilter(filters.FilterSet):
    campaign = filters.ModelChoiceFilter(
        queryset=lambda request: scope.campaigns_visible(request.user) if request else Campaign.objects.none()
    )
    school = filters.ModelChoiceFilter(
        queryset=lambda request: scope.units_visible(request.user) if request else Unit.objects.none()
    )
    item = filters.ModelChoiceFilter(
        queryset=lambda request: scope.list_items_visible(request.user) if request else ListItem.objects.none()
    )
    result = filters.ChoiceFilter(choices=[*CheckResult.choices, ("none", "not recorded")], method="filter_result")

    class Meta:
        model = Check
        fields = ["campaign", "school", "item", "result"]

    def filter_result(self, queryset, name, value):
        return queryset.filter(result__isnull=True) if value == "none" else queryset.filter(result=value)


def checks_queryset(user):
    return scope.checks_visible(user).select_related("item")


class CheckListView(mixins.ListModelMixin, GenericAPIView):
    serializer_class = CheckSerializer
    filterset_class = CheckFilter
    ordering_fields = ["id", "checked_at"]
    ordering = ["id"]

    def get_queryset(self):
        return checks_queryset(self.request.user)

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class CheckDetailView(GenericAPIView):
    """GET one check; POST records its result (school): `ok`, or a `finding` with its rectification."""

    serializer_class = CheckSerializer
    filter_backends: list = []

    def get_queryset(self):
        return checks_queryset(self.request.user)

    def _check(self, pk: int) -> Check:
        check = self.get_queryset().filter(pk=pk).first()
        if check is None:
            raise NotFound()
        return check

    @extend_schema(responses=CheckSerializer)
    def get(self, request, pk: int):
        return Response(CheckSerializer(self._check(pk)).data)

    @extend_schema(request=CheckRecordSerializer, responses=CheckSerializer)
    def post(self, request, pk: int):
        check = self._check(pk)
        require_role(request.user, check.school_id, Role.SCHOOL, "record checks")
        data = dict(validated(CheckRecordSerializer, request))
        finding = dict(data["finding"]) if data.get("finding") else None
        check = check_services.check_record(
            actor=request.user, check=check, result=data["result"], note=data["note"], finding=finding
        )
        return Response(CheckSerializer(checks_queryset(request.user).get(pk=check.pk)).data)
