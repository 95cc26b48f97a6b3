"""Integrity programme, the lists and the registers (CONTRACT section 8): list items, risk points, and
each school's register with its review loop.

Order of judgement, as everywhere: 404 out of scope (ids resolve only within the caller's scope), 403
the wrong role, 400 a bad body, 409 the wrong state.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from tracker import scope
from tracker.integrity import list_services, register_services
from tracker.integrity.models import ListItem, ListKind, Post, RegisterStatus, RiskLevel, RiskPoint
from tracker.integrity.rules import register_year
from tracker.integrity.selectors import register_summaries
from tracker.integrity.transitions import REGISTER_TRANSITIONS, RegisterAction
from tracker.org.models import Role, Unit, UnitKind

from .scoping import require_any_role, require_role
from .serializers import ScopedPrimaryKeyRelatedField, StrictModelSerializer, StrictSerializer, validated


def _validated(serializer_class, request, **kwargs) -> dict:
    return dict(validated(serializer_class, request, **kwargs))


# --- Query parameters -----------------------------------------------------------------------------------
class YearQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)


YEAR_PARAM = OpenApiParameter(
    "year", OpenApiTypes.INT, required=False, description="the register's year (default: this year, in TIME_ZONE)"
)


def requested_year(request) -> int:
    query = YearQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("year") or register_year(timezone.now())


# --- List items -----------------------------------------------------------------------------------------
class ListItemSerializer(StrictModelSerializer):
    unit = ScopedPrimaryKeyRelatedField(scoped=scope.units_visible_or_above, queryset=Unit.objects.all())
    basis = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, style={"base_template": "textarea.html"}
    )

    class Meta:
        model = ListItem
        fields = ["id", "unit", "list", "code", "title", "category", "basis", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators: list = []  # (unit, list, code) uniqueness is list_item_create's, naming `code`


class ListItemUpdateSerializer(ListItemSerializer):
    # An item never moves to another unit or list (checks and risk points refer to it).
    unit = serializers.PrimaryKeyRelatedField(read_only=True)
    list = serializers.ChoiceField(choices=ListKind.choices, read_only=True)


class ListItemFilter(filters.FilterSet):
    unit = filters.ModelChoiceFilter(
        queryset=lambda request: scope.units_visible_or_above(request.user) if request else Unit.objects.none()
    )

    class Meta:
        model = ListItem
        fields = ["list", "unit", "category"]


def _require_item_writer(user, unit: Unit) -> None:
    """An authority's items are its supervisors' to write; a school's own, its school accounts'."""
    role = Role.SUPERVISOR if unit.kind == UnitKind.AUTHORITY else Role.SCHOOL
    require_role(user, unit, role, "write this unit's list items")


class ListItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ListItemSerializer
    filterset_class = ListItemFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ["code", "id"]
    ordering = ["list", "code", "id"]

    def get_queryset(self):
        return scope.list_items_visible(self.request.user)

    def get_serializer_class(self):
        return ListItemUpdateSerializer if self.action == "partial_update" else ListItemSerializer

    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR, Role.SCHOOL), "write list items")
        data = _validated(ListItemSerializer, request)
        _require_item_writer(request.user, data["unit"])
        item = list_services.list_item_create(actor=request.user, **data)
        return Response(ListItemSerializer(item).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        _require_item_writer(request.user, item.unit)
        data = _validated(ListItemUpdateSerializer, request, partial=True)
        item = list_services.list_item_update(actor=request.user, item=item, changes=data)
        return Response(ListItemSerializer(item).data)


# --- Risk points ----------------------------------------------------------------------------------------
class ProcessStepSerializer(StrictSerializer):
    step = serializers.CharField(max_length=300)
    role = serializers.CharField(max_length=100)
    control = serializers.BooleanField(default=False)


class RiskPointSerializer(StrictModelSerializer):
    school = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.filter(kind=UnitKind.SCHOOL), required=False
    )
    item = ScopedPrimaryKeyRelatedField(scoped=scope.list_items_visible, queryset=ListItem.objects.all())
    item_code = serializers.CharField(source="item.code", read_only=True)
    item_title = serializers.CharField(source="item.title", read_only=True)
    list = serializers.CharField(source="item.list", read_only=True)
    post = serializers.ChoiceField(choices=Post.choices)
    level = serializers.ChoiceField(choices=RiskLevel.choices)
    description = serializers.CharField(max_length=5000)
    measures = serializers.ListField(child=serializers.CharField(max_length=2000), allow_empty=False, max_length=50)
    process_map = ProcessStepSerializer(many=True, required=False, max_length=50)
    year = serializers.IntegerField(source="register.year", read_only=True)

    class Meta:
        model = RiskPoint
        fields = [
            "id",
            "school",
            "year",
            "item",
            "item_code",
            "item_title",
            "list",
            "post",
            "description",
            "level",
            "measures",
            "process_map",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class RiskPointUpdateSerializer(RiskPointSerializer):
    school = serializers.PrimaryKeyRelatedField(read_only=True)


class RiskPointFilter(filters.FilterSet):
    school = filters.ModelChoiceFilter(
        queryset=lambda request: scope.units_visible(request.user) if request else Unit.objects.none()
    )
    item = filters.ModelChoiceFilter(
        queryset=lambda request: scope.list_items_visible(request.user) if request else ListItem.objects.none()
    )
    year = filters.NumberFilter(field_name="register__year")

    class Meta:
        model = RiskPoint
        fields = ["school", "item", "level", "post", "year"]


def _plain(data: dict) -> dict:
    if "process_map" in data:
        data["process_map"] = [dict(step) for step in data["process_map"]]
    if "measures" in data:
        data["measures"] = list(data["measures"])
    return data


class RiskPointViewSet(viewsets.ModelViewSet):
    serializer_class = RiskPointSerializer
    filterset_class = RiskPointFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = ["id", "level", "created_at"]
    ordering = ["id"]

    def get_queryset(self):
        return scope.risk_points_visible(self.request.user).select_related("item", "register")

    def get_serializer_class(self):
        return RiskPointUpdateSerializer if self.action == "partial_update" else RiskPointSerializer

    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SCHOOL,), "write risk points")
        data = _plain(_validated(RiskPointSerializer, request))
        school = data.pop("school", None)
        if school is None:
            own = list(scope.units_visible(request.user).filter(kind=UnitKind.SCHOOL, memberships__user=request.user))
            if len(own) != 1:
                raise ValidationError({"school": [_("Name the school the risk point belongs to.")]})
            school = own[0]
        require_role(request.user, school, Role.SCHOOL, "write this school's risk points")
        risk = register_services.risk_create(actor=request.user, school=school, **data)
        return Response(RiskPointSerializer(risk).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        risk = self.get_object()
        require_role(request.user, risk.school_id, Role.SCHOOL, "write this school's risk points")
        data = _plain(_validated(RiskPointUpdateSerializer, request, partial=True))
        risk = register_services.risk_update(actor=request.user, risk=risk, changes=data)
        return Response(RiskPointSerializer(risk).data)

    def update(self, request, *args, **kwargs):  # PUT is not offered (http_method_names); PATCH only
        return self.partial_update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        risk = self.get_object()
        require_role(request.user, risk.school_id, Role.SCHOOL, "delete this school's risk points")
        register_services.risk_delete(actor=request.user, risk=risk)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Registers ------------------------------------------------------------------------------------------
class RegisterLevelsSerializer(serializers.Serializer):
    low = serializers.IntegerField()
    medium = serializers.IntegerField()
    high = serializers.IntegerField()


class RegisterPostsSerializer(serializers.Serializer):
    leader = serializers.IntegerField()
    middle_manager = serializers.IntegerField()
    class_teacher = serializers.IntegerField()
    subject_teacher = serializers.IntegerField()
    other = serializers.IntegerField()


class RegisterSerializer(serializers.Serializer):
    school = serializers.IntegerField()
    school_name = serializers.CharField()
    year = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RegisterStatus.choices)
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    return_reason = serializers.CharField(allow_blank=True)
    items = serializers.IntegerField(help_text="list items with at least one risk point")
    risk_points = serializers.IntegerField()
    by_level = RegisterLevelsSerializer(help_text="risk points by level")
    high_with_process_map = serializers.IntegerField()
    posts = RegisterPostsSerializer(help_text="risk points by post")


class RegisterReturnSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=5000)


class EmptyBodySerializer(StrictSerializer):
    pass


def register_document(school: Unit, year: int) -> dict:
    return {**register_summaries(school_ids=[school.pk], year=year)[school.pk], "school_name": school.name}


class RegisterViewSet(viewsets.GenericViewSet):
    """One row per school in scope and year; a school without a register reads as an empty draft."""

    serializer_class = RegisterSerializer
    lookup_url_kwarg = "school_id"
    lookup_value_regex = "[0-9]+"
    filter_backends: list = []

    def get_queryset(self):
        return scope.units_visible(self.request.user).filter(kind=UnitKind.SCHOOL).order_by("name", "id")

    @extend_schema(parameters=[YEAR_PARAM], responses=RegisterSerializer(many=True))
    def list(self, request):
        year = requested_year(request)
        page = self.paginate_queryset(self.get_queryset())
        summaries = register_summaries(school_ids=[school.pk for school in page], year=year)
        rows = [{**summaries[school.pk], "school_name": school.name} for school in page]
        return self.get_paginated_response(RegisterSerializer(rows, many=True).data)

    @extend_schema(parameters=[YEAR_PARAM], responses=RegisterSerializer)
    def retrieve(self, request, school_id=None):
        school = self.get_object()
        return Response(RegisterSerializer(register_document(school, requested_year(request))).data)

    def _review(self, request, action_: RegisterAction, service, body=EmptyBodySerializer):
        school = self.get_object()  # 404 out of scope
        require_role(request.user, school, REGISTER_TRANSITIONS[action_].role, f"{action_} registers")  # 403
        year = requested_year(request)
        data = _validated(body, request)  # 400
        service(actor=request.user, school=school, year=year, **data)  # 409
        return Response(RegisterSerializer(register_document(school, year)).data)

    @extend_schema(parameters=[YEAR_PARAM], request=None, responses=RegisterSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, school_id=None):
        return self._review(request, RegisterAction.SUBMIT, register_services.register_submit)

    @extend_schema(parameters=[YEAR_PARAM], request=None, responses=RegisterSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, school_id=None):
        return self._review(request, RegisterAction.APPROVE, register_services.register_approve)

    @extend_schema(parameters=[YEAR_PARAM], request=RegisterReturnSerializer, responses=RegisterSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, school_id=None):
        return self._review(
            request, RegisterAction.RETURN, register_services.register_return, body=RegisterReturnSerializer
        )
