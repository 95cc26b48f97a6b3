"""Inspection rounds: GET, POST /api/v1/inspections/, GET, PATCH /api/v1/inspections/{id}/, and
GET /api/v1/inspections/stats/?authority=&year= (CONTRACT section 9).

Read: the supervisors and inspectors of the authority (or above it); a school account gets 403 on the
list and the statistics, 404 on any round. Write: an inspector or supervisor of the round's authority.
Order of judgement: 404 out of scope, 403 wrong role, 400 bad body, 409 wrong state.
"""

from __future__ import annotations

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from tracker import scope
from tracker.inspections import selectors
from tracker.inspections.inspection_services import TargetInput, inspection_create, inspection_update
from tracker.inspections.models import CaseType, Inspection, InspectionKind, InspectionTarget, TargetKind
from tracker.org.models import AUTHORITY_ROLES, Role, Unit, UnitKind
from tracker.org.tree import descendant_ids

from .filters import YearFilter, authorities_in_scope
from .scoping import require_any_role, require_one_of_roles
from .serializers import DayField, ScopedPrimaryKeyRelatedField, StrictSerializer, validated

WRITERS = (Role.INSPECTOR, Role.SUPERVISOR)
MAX_ID = 2**63 - 1


# --- Shapes ------------------------------------------------------------------------------------------
class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionTarget
        fields = ["kind", "name", "school"]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    targets = TargetSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = ["id", "authority", "kind", "held_on", "inspectors", "targets", "summary", "created_at", "updated_at"]
        read_only_fields = fields


class TargetInputSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=TargetKind.choices)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    school = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible,
        queryset=Unit.objects.filter(kind=UnitKind.SCHOOL),
        required=False,
        allow_null=True,
        default=None,
        help_text="the school visited (targets of kind `school` only)",
    )

    def validate(self, attrs):
        if attrs["kind"] == TargetKind.SCHOOL and attrs.get("school") is None:
            raise serializers.ValidationError({"school": ["a target of kind `school` names the school"]})
        if attrs["kind"] != TargetKind.SCHOOL and attrs.get("school") is not None:
            raise serializers.ValidationError({"school": ["only a target of kind `school` names a school"]})
        if attrs["kind"] != TargetKind.SCHOOL and not attrs.get("name", "").strip():
            raise serializers.ValidationError({"name": ["a target needs a name"]})
        return attrs


class InspectionWriteSerializer(StrictSerializer):
    authority = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.filter(kind=UnitKind.AUTHORITY)
    )
    kind = serializers.ChoiceField(choices=InspectionKind.choices)
    held_on = DayField()
    inspectors = serializers.IntegerField(min_value=1, max_value=10_000)
    targets = serializers.ListField(child=TargetInputSerializer(), min_length=1, max_length=200)
    summary = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")


class InspectionUpdateSerializer(InspectionWriteSerializer):
    authority = None  # a round never moves to another authority


class StatsQuerySerializer(StrictSerializer):
    authority = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    year = serializers.IntegerField(min_value=2000, max_value=2099, required=False)


def _counts(keys: list[str], name: str) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {key: serializers.IntegerField() for key in keys})


class InspectionStatsSerializer(serializers.Serializer):
    authority = serializers.IntegerField(source="authority_id")
    year = serializers.IntegerField()
    rounds = serializers.IntegerField()
    person_visits = serializers.IntegerField(help_text="the sum of `inspectors` over the rounds")
    rounds_by_kind = _counts(InspectionKind.values, "RoundsByKind")()
    targets_by_kind = _counts(TargetKind.values, "TargetsByKind")()
    cases = serializers.IntegerField()
    cases_by_type = _counts(CaseType.values, "CasesByType")()


class InspectionFilter(filters.FilterSet):
    authority = filters.ModelChoiceFilter(queryset=authorities_in_scope)
    kind = filters.ChoiceFilter(choices=InspectionKind.choices)
    year = YearFilter(field_name="held_on__year")

    class Meta:
        model = Inspection
        fields = ["authority", "kind", "year"]


def _targets(data: list[dict]) -> list[TargetInput]:
    return [TargetInput(kind=t["kind"], name=t.get("name", ""), school=t.get("school")) for t in data]


# --- Views -------------------------------------------------------------------------------------------
class InspectionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = InspectionSerializer
    filterset_class = InspectionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["held_on", "id"]
    ordering = ["-held_on", "-id"]

    def get_queryset(self):
        return scope.inspections_visible(self.request.user).prefetch_related("targets")

    def get_serializer_class(self):
        if self.action == "create":
            return InspectionWriteSerializer
        if self.action == "partial_update":
            return InspectionUpdateSerializer
        return InspectionSerializer

    def list(self, request, *args, **kwargs):
        require_any_role(request.user, AUTHORITY_ROLES, "read inspection rounds")
        return super().list(request, *args, **kwargs)

    @extend_schema(request=InspectionWriteSerializer, responses={201: InspectionSerializer})
    def create(self, request, *args, **kwargs):
        require_any_role(request.user, WRITERS, "record inspection rounds")
        data = dict(validated(InspectionWriteSerializer, request))
        authority = data.pop("authority")
        if not any(scope.has_role_over(request.user, authority, role) for role in WRITERS):
            raise ValidationError({"authority": ["must be an authority you inspect or supervise"]})
        inspection = inspection_create(
            actor=request.user, authority=authority, **{**data, "targets": _targets(data["targets"])}
        )
        return Response(InspectionSerializer(self._reloaded(inspection)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=InspectionUpdateSerializer, responses=InspectionSerializer)
    def partial_update(self, request, *args, **kwargs):
        inspection = self.get_object()
        require_one_of_roles(request.user, inspection.authority_id, WRITERS, "edit inspection rounds")
        changes = dict(validated(InspectionUpdateSerializer, request, partial=True))
        if "targets" in changes:
            changes["targets"] = _targets(changes["targets"])
        inspection = inspection_update(actor=request.user, inspection=inspection, changes=changes)
        return Response(InspectionSerializer(self._reloaded(inspection)).data)

    def _reloaded(self, inspection: Inspection) -> Inspection:
        return Inspection.objects.prefetch_related("targets").get(pk=inspection.pk)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "authority",
                OpenApiTypes.INT,
                required=False,
                description="an authority in scope (default: the caller's own); its rounds and those under it",
            ),
            OpenApiParameter("year", OpenApiTypes.INT, required=False, description="default: the current year"),
        ],
        responses=InspectionStatsSerializer,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def stats(self, request):
        user = request.user
        require_any_role(user, AUTHORITY_ROLES, "read inspection statistics")
        query = StatsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        authority_id = query.validated_data.get("authority")
        if authority_id is None:
            authority_id = (
                user.memberships.filter(role__in=AUTHORITY_ROLES)
                .order_by("id")
                .values_list("unit_id", flat=True)
                .first()
            )
            if authority_id is None:
                raise ValidationError({"authority": ["required for an account without an authority of its own"]})
        authority = scope.units_visible(user).filter(pk=authority_id, kind=UnitKind.AUTHORITY).first()
        if authority is None or not any(scope.has_role_over(user, authority, role) for role in AUTHORITY_ROLES):
            raise NotFound("no such authority")
        year = query.validated_data.get("year") or timezone.localdate().year
        stats = selectors.inspection_stats(
            authority_ids=descendant_ids([authority.pk]), authority_id=authority.pk, year=year
        )
        return Response(InspectionStatsSerializer(stats).data)
