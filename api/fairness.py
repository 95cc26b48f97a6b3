"""Deadline fairness (CONTRACT section 7): extension requests, appeals, and a task's deduction ledger.

POST /tasks/{id}/extension-requests/ and /tasks/{id}/appeals/ (school), GET /extension-requests/ and
/appeals/ (all in scope, oldest first: the supervisors' queue), POST .../{id}/decide/ (supervisor),
GET /tasks/{id}/deductions/. Judged in the contract's order: 404 out of scope, 403 wrong role (and
403 same_reviewer for an appeal's approver), 400 bad body, 409 state.
"""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tracker import scope
from tracker.assessment.appeal_services import AppealDecision, appeal_create, appeal_decide, appeal_reviewer_check
from tracker.assessment.extension_services import (
    ExtensionDecision,
    extension_request_create,
    extension_request_decide,
)
from tracker.assessment.fairness_models import (
    Appeal,
    AppealStatus,
    DeductionEntry,
    ExtensionRequest,
    ExtensionStatus,
)
from tracker.assessment.ledger import deduction_ledger
from tracker.assessment.models import Task
from tracker.assessment.transitions import DECIDING_ROLE, REQUESTS, TaskRequest

from .filters import cycles_in_scope, tasks_in_scope, units_in_scope
from .scoping import require_role
from .serializers import CriterionRefSerializer, DeadlineField, StrictSerializer, validated

TEXT_LIMIT = 5000


# --- Shapes ---------------------------------------------------------------------------------------------
class _TaskRefMixin(serializers.Serializer):
    school = serializers.IntegerField(source="task.school_id", read_only=True)
    criterion = CriterionRefSerializer(source="task.criterion", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)


class ExtensionRequestSerializer(_TaskRefMixin, serializers.ModelSerializer):
    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "task",
            "school",
            "criterion",
            "requested_due_at",
            "reason",
            "status",
            "late_request",
            "created_at",
            "decided_at",
            "decided_by",
            "decision_due_at",
            "comment",
        ]
        read_only_fields = fields


class AppealSerializer(_TaskRefMixin, serializers.ModelSerializer):
    contested = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Appeal
        fields = [
            "id",
            "task",
            "school",
            "criterion",
            "reason",
            "contested",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
            "comment",
            "score_before",
            "score_after",
        ]
        read_only_fields = fields


class DeductionEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = DeductionEntry
        fields = ["id", "task", "code", "description", "points", "action", "source", "appeal", "actor", "at", "reason"]
        read_only_fields = fields


class ExtensionRequestCreateSerializer(StrictSerializer):
    requested_due_at = DeadlineField()
    reason = serializers.CharField(max_length=TEXT_LIMIT)


class ExtensionDecideSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[d.value for d in ExtensionDecision])
    due_at = DeadlineField(required=False, allow_null=True, default=None)
    comment = serializers.CharField(max_length=TEXT_LIMIT)


class AppealCreateSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=TEXT_LIMIT)
    contested = serializers.ListField(
        child=serializers.CharField(max_length=32),
        allow_empty=False,
        max_length=100,
        help_text='deduction rule codes applied to the task, and/or "late_penalty"',
    )


class AppealDecideSerializer(StrictSerializer):
    decision = serializers.ChoiceField(choices=[d.value for d in AppealDecision])
    deductions = serializers.ListField(
        child=serializers.CharField(max_length=32),
        required=False,
        max_length=100,
        help_text="amend: the deduction rules that apply (default: those applied now)",
    )
    waive_late_penalty = serializers.BooleanField(required=False, default=False)
    comment = serializers.CharField(max_length=TEXT_LIMIT)


# --- Filters --------------------------------------------------------------------------------------------
class ExtensionRequestFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(field_name="task__cycle", queryset=cycles_in_scope)
    school = filters.ModelChoiceFilter(field_name="task__school", queryset=units_in_scope)
    task = filters.ModelChoiceFilter(queryset=tasks_in_scope)
    status = filters.ChoiceFilter(choices=ExtensionStatus.choices)

    class Meta:
        model = ExtensionRequest
        fields = ["cycle", "school", "task", "status"]


class AppealFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(field_name="task__cycle", queryset=cycles_in_scope)
    school = filters.ModelChoiceFilter(field_name="task__school", queryset=units_in_scope)
    task = filters.ModelChoiceFilter(queryset=tasks_in_scope)
    status = filters.ChoiceFilter(choices=AppealStatus.choices)

    class Meta:
        model = Appeal
        fields = ["cycle", "school", "task", "status"]


# --- Views ----------------------------------------------------------------------------------------------
def _task_in_scope(request, pk: int) -> Task:
    task = scope.tasks_visible(request.user).filter(pk=pk).first()
    if task is None:
        raise NotFound()
    return task


_RELATED = ("task__criterion", "task__school", "decided_by")


class _TaskRequestView(APIView):
    """POST a school's request about one of its tasks: 404 out of scope, 403 not the school, 400, 409."""

    kind: TaskRequest
    body: type[serializers.Serializer]
    model: type[ExtensionRequest] | type[Appeal]
    output: type[serializers.Serializer]
    verb: str

    @staticmethod
    def create(**kwargs):
        raise NotImplementedError

    def post(self, request, pk: int):
        task = _task_in_scope(request, pk)
        require_role(request.user, task.school_id, REQUESTS[self.kind].role, self.verb)
        made = self.create(task=task, actor=request.user, **validated(self.body, request))
        made = self.model.objects.select_related(*_RELATED).get(pk=made.pk)
        return Response(self.output(made).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    post=extend_schema(request=ExtensionRequestCreateSerializer, responses={201: ExtensionRequestSerializer})
)
class TaskExtensionRequestView(_TaskRequestView):
    kind = TaskRequest.EXTENSION
    body = ExtensionRequestCreateSerializer
    model = ExtensionRequest
    output = ExtensionRequestSerializer
    verb = "request extensions"
    create = staticmethod(extension_request_create)


@extend_schema_view(post=extend_schema(request=AppealCreateSerializer, responses={201: AppealSerializer}))
class TaskAppealView(_TaskRequestView):
    kind = TaskRequest.APPEAL
    body = AppealCreateSerializer
    model = Appeal
    output = AppealSerializer
    verb = "appeal scores"
    create = staticmethod(appeal_create)


class TaskDeductionsView(APIView):
    @extend_schema(responses=DeductionEntrySerializer(many=True))
    def get(self, request, pk: int):
        task = _task_in_scope(request, pk)
        return Response(DeductionEntrySerializer(deduction_ledger(task), many=True).data)


class _DecisionQueue(viewsets.ReadOnlyModelViewSet):
    """The requests in the caller's scope, oldest first (the supervisors' queue), and their decision."""

    ordering_fields = ["created_at", "id"]
    ordering = ["created_at", "id"]

    @staticmethod
    def visible(user):
        raise NotImplementedError

    def get_queryset(self):
        return self.visible(self.request.user).select_related(*_RELATED)

    def _decide(self, request, body: type[serializers.Serializer], verb: str, decide, check=None) -> Response:
        item = self.get_object()  # 404 out of scope
        require_role(request.user, item.task.school_id, DECIDING_ROLE, verb)  # 403
        if check is not None:
            check(item, request.user)  # 403 same_reviewer
        decide(item, request.user, **validated(body, request))  # 400, then 409
        return Response(self.get_serializer(self.get_queryset().get(pk=item.pk)).data)


class ExtensionRequestViewSet(_DecisionQueue):
    serializer_class = ExtensionRequestSerializer
    filterset_class = ExtensionRequestFilter
    visible = staticmethod(scope.extension_requests_visible)

    @extend_schema(request=ExtensionDecideSerializer, responses=ExtensionRequestSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._decide(
            request,
            ExtensionDecideSerializer,
            "decide extension requests",
            lambda item, actor, **data: extension_request_decide(request=item, actor=actor, **data),
        )


class AppealViewSet(_DecisionQueue):
    serializer_class = AppealSerializer
    filterset_class = AppealFilter
    visible = staticmethod(scope.appeals_visible)

    @extend_schema(request=AppealDecideSerializer, responses=AppealSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._decide(
            request,
            AppealDecideSerializer,
            "decide appeals",
            lambda item, actor, **data: appeal_decide(appeal=item, actor=actor, **data),
            check=lambda item, actor: appeal_reviewer_check(appeal=item, actor=actor),
        )
