"""Cases: GET, POST /api/v1/cases/, GET, PATCH /api/v1/cases/{id}/, POST /cases/{id}/publish/,
GET /cases/{id}/reads/, POST /cases/{id}/rectify/ (CONTRACT section 9).

Cases hold people's full names. Read: the supervisors and inspectors of the authority (or above it);
write, publish and the access log: its inspectors. A school account gets 404 on every case, published
or not (a published case reaches schools only as its redacted notice, /api/v1/notices/), and 403 on
the list. A case about a school can order it a rectification task (its inspectors and supervisors); the
school reads that task, whose text has every person of the case redacted, never the case. Every
response that carries a case records a read of it (who, when, which route).
Order of judgement: 404 out of scope, 403 wrong role, 400 bad body, 409 wrong state.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tracker import scope
from tracker.inspections import selectors
from tracker.inspections.case_rectification import case_rectify
from tracker.inspections.case_services import NAME_MAX_LENGTH, case_create, case_publish, case_reads_record, case_update
from tracker.inspections.models import Case, CaseRead, CaseStatus, CaseType, Inspection
from tracker.integrity.models import Campaign
from tracker.org.models import AUTHORITY_ROLES, Role, Unit, UnitKind

from .fields import DeadlineField
from .filters import StrictBooleanFilter, YearFilter, authorities_in_scope, units_in_scope
from .notices import NoticeSerializer
from .scoping import require_any_role, require_one_of_roles, require_role
from .serializers import DayField, EmptySerializer, ScopedPrimaryKeyRelatedField, StrictSerializer, validated

TEXT_MAX = 10_000


# --- Shapes ------------------------------------------------------------------------------------------
class CaseSerializer(serializers.ModelSerializer):
    persons = serializers.ListField(child=serializers.CharField(), help_text="full names")
    notice = serializers.SerializerMethodField(help_text="the id of the case's notice once published")
    rectifications = serializers.SerializerMethodField(help_text="ids of the rectification tasks the case ordered")

    class Meta:
        model = Case
        fields = [
            "id",
            "authority",
            "inspection",
            "school",
            "type",
            "occurred_on",
            "summary",
            "persons",
            "status",
            "disposition",
            "notice",
            "rectifications",
            "created_at",
            "updated_at",
            "concluded_at",
        ]
        read_only_fields = fields

    def get_notice(self, case: Case) -> int | None:
        notice = getattr(case, "notice", None)
        return notice.pk if notice is not None else None

    def get_rectifications(self, case: Case) -> list[int]:
        return [link.task_id for link in case.rectifications.all()]


def _inspections_in_scope(user):
    return scope.inspections_visible(user)


def inspections_in_scope(request):
    return _inspections_in_scope(request.user) if request is not None else Inspection.objects.none()


class CaseWriteSerializer(StrictSerializer):
    authority = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.filter(kind=UnitKind.AUTHORITY)
    )
    inspection = ScopedPrimaryKeyRelatedField(
        scoped=_inspections_in_scope, queryset=Inspection.objects.all(), required=False, allow_null=True
    )
    school = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible,
        queryset=Unit.objects.filter(kind=UnitKind.SCHOOL),
        required=False,
        allow_null=True,
    )
    type = serializers.ChoiceField(choices=CaseType.choices)
    occurred_on = DayField()
    summary = serializers.CharField(max_length=TEXT_MAX)
    persons = serializers.ListField(
        child=serializers.CharField(max_length=NAME_MAX_LENGTH, min_length=2),
        max_length=50,
        required=False,
        default=list,
        help_text="full names of the persons involved (never shown outside the case)",
    )
    disposition = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class CaseUpdateSerializer(CaseWriteSerializer):
    authority = None  # a case never moves to another authority
    status = serializers.ChoiceField(
        choices=CaseStatus.choices, required=False, help_text="one step at a time: reported, investigating, concluded"
    )


class CaseRectifySerializer(StrictSerializer):
    description = serializers.CharField(max_length=TEXT_MAX, help_text="what the school must put right")
    rectify_by = DeadlineField()
    campaign = ScopedPrimaryKeyRelatedField(
        scoped=scope.campaigns_visible,
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        help_text="the campaign the task belongs to; without one, the authority's case rectifications",
    )


class CaseRectifiedSerializer(serializers.Serializer):
    task = serializers.IntegerField(help_text="the rectification task's id")


class CaseReadSerializer(serializers.ModelSerializer):
    reader = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CaseRead
        fields = ["id", "reader", "read_at", "via"]
        read_only_fields = fields


class CaseFilter(filters.FilterSet):
    authority = filters.ModelChoiceFilter(queryset=authorities_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    inspection = filters.ModelChoiceFilter(queryset=inspections_in_scope)
    type = filters.ChoiceFilter(choices=CaseType.choices)
    status = filters.ChoiceFilter(choices=CaseStatus.choices)
    published = StrictBooleanFilter(field_name="notice", lookup_expr="isnull", exclude=True)
    year = YearFilter(field_name="occurred_on__year")

    class Meta:
        model = Case
        fields = ["authority", "school", "inspection", "type", "status", "published", "year"]


# --- Views -------------------------------------------------------------------------------------------
class CaseViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["occurred_on", "updated_at", "id"]
    ordering = ["-occurred_on", "-id"]

    def get_queryset(self):
        return scope.cases_visible(self.request.user).select_related("notice").prefetch_related("rectifications")

    def get_serializer_class(self):
        if self.action == "create":
            return CaseWriteSerializer
        if self.action == "partial_update":
            return CaseUpdateSerializer
        return CaseSerializer

    def _shown(self, case: Case, via: str) -> dict:
        """The case as output, its read recorded."""
        case_reads_record(reader=self.request.user, cases=[case], via=via)
        return CaseSerializer(self.get_queryset().get(pk=case.pk)).data

    @extend_schema(responses=CaseSerializer(many=True))
    def list(self, request, *args, **kwargs):
        require_any_role(request.user, AUTHORITY_ROLES, "read cases")
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        case_reads_record(reader=request.user, cases=page, via="api.list")
        return self.get_paginated_response(CaseSerializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._shown(self.get_object(), "api.detail"))

    @extend_schema(request=CaseWriteSerializer, responses={201: CaseSerializer})
    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.INSPECTOR,), "report cases")
        data = dict(validated(CaseWriteSerializer, request))
        if not scope.has_role_over(request.user, data["authority"], Role.INSPECTOR):
            raise ValidationError({"authority": ["must be an authority you inspect"]})
        case = case_create(actor=request.user, **data)
        return Response(self._shown(case, "api.create"), status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseUpdateSerializer, responses=CaseSerializer)
    def partial_update(self, request, *args, **kwargs):
        case = self.get_object()
        require_role(request.user, case.authority_id, Role.INSPECTOR, "edit cases")
        changes = dict(validated(CaseUpdateSerializer, request, partial=True))
        case = case_update(actor=request.user, case=case, changes=changes)
        return Response(self._shown(case, "api.update"))

    @extend_schema(request=None, responses={201: NoticeSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        case = self.get_object()
        require_role(request.user, case.authority_id, Role.INSPECTOR, "publish cases")
        validated(EmptySerializer, request)
        notice = case_publish(actor=request.user, case=case)
        return Response(NoticeSerializer(notice).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CaseRectifySerializer, responses={201: CaseRectifiedSerializer})
    @action(detail=True, methods=["post"])
    def rectify(self, request, pk=None):
        """Order the case's school a rectification task (section 8's kind)."""
        case = self.get_object()
        require_one_of_roles(request.user, case.authority_id, (Role.INSPECTOR, Role.SUPERVISOR), "order rectifications")
        data = validated(CaseRectifySerializer, request)
        task = case_rectify(actor=request.user, case=case, **data)
        return Response(CaseRectifiedSerializer({"task": task.pk}).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=CaseReadSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, filter_backends=[])  # in its own order
    def reads(self, request, pk=None):
        """Who read this case and when (inspectors of its authority)."""
        case = self.get_object()
        require_role(request.user, case.authority_id, Role.INSPECTOR, "list the reads of cases")
        page = self.paginate_queryset(selectors.case_reads(case))
        return self.get_paginated_response(CaseReadSerializer(page, many=True).data)
