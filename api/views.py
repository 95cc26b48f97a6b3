"""Units, accounts, cycles, criteria, tasks, evidence, events. Each view scopes through tracker.scope."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from tracker import scope
from tracker.assessment import cycle_services, evidence_services, task_services
from tracker.assessment.evidence_services import evidence_path
from tracker.assessment.filetypes import CONTENT_TYPES
from tracker.assessment.models import Criterion, Evidence, Task
from tracker.assessment.transitions import TRANSITIONS, TaskAction
from tracker.audit.events import events_verify
from tracker.audit.models import Event
from tracker.audit.selectors import task_history
from tracker.errors import FileTooLarge
from tracker.org import selectors as org_selectors
from tracker.org import services as org_services
from tracker.org.models import AUTHORITY_ROLES, Role

from . import serializers as s
from .filters import CriterionFilter, CycleFilter, EventFilter, TaskFilter, UnitFilter
from .pagination import CountingPagination
from .renderers import RENDERERS
from .scoping import require_any_role, require_role
from .task_list import task_list
from .task_rows import every_task_row, with_row_columns


class MeView(APIView):
    def _me(self, user) -> Response:
        return Response(
            s.MeSerializer(
                {
                    "id": user.pk,
                    "username": user.username,
                    "email": user.email,
                    "language": org_selectors.account_language(user.pk),
                    "is_superuser": user.is_superuser,
                    "memberships": user.memberships.select_related("unit"),
                }
            ).data
        )

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        return self._me(request.user)

    @extend_schema(request=s.MeUpdateSerializer, responses=s.MeSerializer)
    def patch(self, request):
        data = s.validated(s.MeUpdateSerializer, request)
        org_services.account_update(user=request.user, actor=request.user, **data)
        return self._me(request.user)


# --- Units ----------------------------------------------------------------------------------------
class UnitViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.UnitSerializer
    filterset_class = UnitFilter
    ordering_fields = ["name", "code", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return scope.units_visible(self.request.user).order_by("id")

    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "create units")
        data = s.validated(s.UnitSerializer, request)
        parent = data.get("parent")
        if not request.user.is_superuser and (
            parent is None or not scope.has_role_over(request.user, parent, Role.SUPERVISOR)
        ):
            raise ValidationError({"parent": [_("Must be an authority in your scope.")]})
        unit = org_services.unit_create(
            actor=request.user, name=data["name"], code=data["code"], kind=data["kind"], parent=parent
        )
        return Response(s.UnitSerializer(unit).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        unit = self.get_object()
        require_role(request.user, unit, Role.SUPERVISOR, "edit units")
        data = s.validated(s.UnitSerializer, request, partial=True)
        parent = data.get("parent")
        if (
            "parent" in data
            and not request.user.is_superuser
            and (parent is None or not scope.has_role_over(request.user, parent, Role.SUPERVISOR))
        ):
            raise ValidationError({"parent": [_("Must be an authority in your scope.")]})
        unit = org_services.unit_update(actor=request.user, unit=unit, changes=dict(data))
        return Response(s.UnitSerializer(unit).data)


# --- Accounts -------------------------------------------------------------------------------------
class AccountCreateView(APIView):
    @extend_schema(request=s.AccountCreateSerializer, responses={201: s.AccountSerializer})
    def post(self, request):
        require_any_role(request.user, (Role.SUPERVISOR,), "create accounts")
        data = s.validated(s.AccountCreateSerializer, request)  # `unit`: one the caller supervises
        unit = data["unit"]
        membership = org_services.account_create(actor=request.user, **data)
        body = {
            "id": membership.user_id,
            "username": membership.user.username,
            "unit": unit.pk,
            "role": membership.role,
        }
        return Response(s.AccountSerializer(body).data, status=status.HTTP_201_CREATED)


# --- Cycles ---------------------------------------------------------------------------------------
class CycleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.CycleSerializer
    filterset_class = CycleFilter
    ordering_fields = ["starts_on", "name", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return scope.cycles_visible(self.request.user).order_by("id")

    def get_serializer_class(self):
        return s.CycleUpdateSerializer if self.action == "partial_update" else s.CycleSerializer

    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "create cycles")
        data = s.validated(s.CycleSerializer, request)
        if not scope.has_role_over(request.user, data["authority"], Role.SUPERVISOR):
            raise ValidationError({"authority": [_("Must be an authority in your scope.")]})
        cycle = cycle_services.cycle_create(actor=request.user, **data)
        return Response(s.CycleSerializer(cycle).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        cycle = self.get_object()
        require_role(request.user, cycle.authority_id, Role.SUPERVISOR, "edit cycles")
        data = s.validated(s.CycleUpdateSerializer, request, partial=True)
        cycle = cycle_services.cycle_update(actor=request.user, cycle=cycle, changes=dict(data))
        return Response(s.CycleSerializer(cycle).data)

    @extend_schema(request=None, responses=s.ActivateResultSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        cycle = self.get_object()
        require_role(request.user, cycle.authority_id, Role.SUPERVISOR, "activate cycles")
        s.validated(s.EmptySerializer, request)
        created = cycle_services.cycle_activate(actor=request.user, cycle=cycle)
        return Response({"tasks_created": created})

    @extend_schema(request=None, responses=s.CycleSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        cycle = self.get_object()
        require_role(request.user, cycle.authority_id, Role.SUPERVISOR, "close cycles")
        s.validated(s.EmptySerializer, request)
        cycle = cycle_services.cycle_close(actor=request.user, cycle=cycle)
        return Response(s.CycleSerializer(cycle).data)


# --- Criteria -------------------------------------------------------------------------------------
class CriterionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.CriterionSerializer
    filterset_class = CriterionFilter
    ordering_fields = ["code", "due_at", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Criterion.objects.filter(cycle__in=scope.cycles_visible(self.request.user)).order_by("cycle", "code")

    def get_serializer_class(self):
        return s.CriterionUpdateSerializer if self.action == "partial_update" else s.CriterionSerializer

    def create(self, request, *args, **kwargs):
        require_any_role(request.user, (Role.SUPERVISOR,), "create criteria")
        data = s.validated(s.CriterionSerializer, request)
        cycle = data.pop("cycle")  # resolved within the caller's scope
        require_role(request.user, cycle.authority_id, Role.SUPERVISOR, "create criteria")
        criterion = cycle_services.criterion_create(actor=request.user, cycle=cycle, **data)
        return Response(s.CriterionSerializer(criterion).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        criterion = self.get_object()
        require_role(request.user, criterion.cycle.authority_id, Role.SUPERVISOR, "edit criteria")
        data = s.validated(s.CriterionUpdateSerializer, request, partial=True)
        criterion = cycle_services.criterion_update(actor=request.user, criterion=criterion, changes=dict(data))
        return Response(s.CriterionSerializer(criterion).data)


# --- Tasks ----------------------------------------------------------------------------------------
class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.TaskSerializer
    filterset_class = TaskFilter
    # submitted_at: the review queue, oldest (or newest) submission first.
    ordering_fields = ["due_at", "submitted_at", "updated_at", "id"]
    ordering = ["due_at", "id"]
    pagination_class = CountingPagination
    renderer_classes = RENDERERS  # JSON written by orjson, the same bytes (api/renderers.py)

    def get_serializer_class(self):
        # The list stays lean; one task (and every action's answer) carries the criterion's rules.
        return s.TaskSerializer if self.action == "list" else s.TaskDetailSerializer

    _with_rows = staticmethod(with_row_columns)

    def get_queryset(self):
        if self.action == "list":  # the list reads rows of the columns it shows (api/task_list.py)
            return scope.tasks_visible(self.request.user, within=every_task_row())
        return self._with_rows(scope.tasks_visible(self.request.user))

    def list(self, request, *args, **kwargs):
        return task_list(self, request)

    def get_object(self):
        # One task: by its key, then the caller's roles over its school, not the whole scope listed. The
        # list's filters do not narrow a task named by its key (building them would read the scope).
        task = scope.task_visible(self.request.user, self.kwargs["pk"], self._with_rows(Task.objects.all()))
        if task is None:
            raise NotFound()
        self.check_object_permissions(self.request, task)
        return task

    def _act(self, request, action: TaskAction, verb: str, service, serializer_class=None, **kwargs):
        task = self.get_object()  # 404 outside scope
        require_role(request.user, task.school_id, TRANSITIONS[action].role, verb)  # 403 wrong role (the table's)
        data = s.validated(serializer_class or s.EmptySerializer, request)  # 400 bad body
        service(task=task, actor=request.user, **data, **kwargs)  # 409 wrong state
        return Response(self.get_serializer(self._with_rows(Task.objects.all()).get(pk=task.pk)).data)

    @extend_schema(request=None, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(request, TaskAction.START, "start tasks", task_services.task_start)

    @extend_schema(request=s.ProgressSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def progress(self, request, pk=None):
        return self._act(
            request, TaskAction.PROGRESS, "report progress", task_services.task_progress, s.ProgressSerializer
        )

    @extend_schema(request=None, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._act(request, TaskAction.SUBMIT, "submit tasks", task_services.task_submit)

    @extend_schema(request=s.ApproveSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._act(request, TaskAction.APPROVE, "approve tasks", task_services.task_approve, s.ApproveSerializer)

    @extend_schema(request=s.ReturnSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_(self, request, pk=None):
        return self._act(request, TaskAction.RETURN, "return tasks", task_services.task_return, s.ReturnSerializer)

    @extend_schema(request=s.ExtendSerializer, responses=s.TaskDetailSerializer)
    @action(detail=True, methods=["post"])
    def extend(self, request, pk=None):
        return self._act(request, TaskAction.EXTEND, "extend tasks", task_services.task_extend, s.ExtendSerializer)

    @extend_schema(responses=s.EventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None, filter_backends=[])
    def history(self, request, pk=None):
        task = self.get_object()
        return Response(s.EventSerializer(task_history(task), many=True).data)


class TaskEvidenceView(APIView):
    """GET lists a task's evidence; POST (school, multipart `file`) uploads one file."""

    parser_classes = [MultiPartParser, FormParser]

    def _task(self, request, pk: int) -> Task:
        task = scope.task_visible(request.user, pk)
        if task is None:
            raise NotFound()
        return task

    @extend_schema(responses=s.EvidenceSerializer(many=True))
    def get(self, request, pk: int):
        task = self._task(request, pk)
        return Response(s.EvidenceSerializer(task.evidence.order_by("id"), many=True).data)

    @extend_schema(request={"multipart/form-data": s.EvidenceUploadSerializer}, responses={201: s.EvidenceSerializer})
    def post(self, request, pk: int):
        task = self._task(request, pk)
        require_role(request.user, task.school_id, Role.SCHOOL, "upload evidence")
        # Refuse an oversize body before reading it (multipart overhead allowed for).
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:  # a malformed header: let the parser judge the body itself
            declared = 0
        if declared > settings.EVIDENCE_MAX_BYTES + 64 * 1024:
            raise FileTooLarge(f"the request is {declared} bytes; the file limit is {settings.EVIDENCE_MAX_BYTES}")
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("A multipart field named 'file' is required.")]})
        if len(request.FILES) > 1 or len(request.FILES.getlist("file")) > 1:
            raise ValidationError({"file": [_("Upload one file per request.")]})
        item = evidence_services.evidence_add(
            task=task, actor=request.user, file=upload, filename=upload.name or "", size=upload.size
        )
        return Response(s.EvidenceSerializer(item).data, status=status.HTTP_201_CREATED)


class EvidenceViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    serializer_class = s.EvidenceSerializer

    def get_queryset(self):
        return Evidence.objects.filter(task__in=scope.tasks_visible(self.request.user))

    def destroy(self, request, *args, **kwargs):
        item = self.get_object()
        require_role(request.user, item.task.school_id, Role.SCHOOL, "delete evidence")
        evidence_services.evidence_delete(evidence=item, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # The file goes out with the type sniffed at upload: document each one the download may carry.
    @extend_schema(responses={(200, content_type): OpenApiTypes.BINARY for content_type in CONTENT_TYPES.values()})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        item = self.get_object()
        path = evidence_path(item)
        if not path.exists():
            raise NotFound(_("The file is missing from storage."))
        response = FileResponse(
            path.open("rb"), as_attachment=True, filename=item.filename, content_type=item.content_type
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Cache-Control"] = "private, no-store"
        return response


# --- Events ---------------------------------------------------------------------------------------
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, for supervisors and inspectors, within their scope."""

    serializer_class = s.EventSerializer
    queryset = Event.objects.none()  # for the schema's types only; get_queryset scopes every request
    filterset_class = EventFilter
    ordering_fields = ["id", "occurred_at"]
    ordering = ["id"]
    throttle_scope = "events_verify"  # used by the verify action's throttle only

    def get_queryset(self):
        user = self.request.user
        require_any_role(user, AUTHORITY_ROLES, "read the event log")
        return scope.events_visible(user).select_related("actor")

    @extend_schema(
        responses=s.ChainReportSerializer,
        description="The same check as `manage.py verify_events`: the whole hash chain, oldest first. "
        "`first_broken` names the first event whose link or content does not hold (its id is null when "
        "events were removed from the end of the chain).",
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        filterset_class=None,
        filter_backends=[],
        throttle_classes=[ScopedRateThrottle],  # it reads every event: THROTTLE_EVENTS_VERIFY per user
    )
    def verify(self, request):
        require_any_role(request.user, AUTHORITY_ROLES, "verify the event log")
        report = events_verify()
        broken = None if report.ok else {"id": report.broken_event_id, "reason": report.reason}
        return Response(s.ChainReportSerializer({"ok": report.ok, "events": report.count, "first_broken": broken}).data)
