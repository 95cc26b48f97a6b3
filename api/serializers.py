"""Input and output shapes of CONTRACT section 3. Business rules live in the services of tracker's contexts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from tracker import scope
from tracker.assessment.models import Criterion, Cycle, Evidence, Task
from tracker.assessment.rules import task_days_overdue, task_is_overdue
from tracker.audit.models import Event
from tracker.monitoring.rules import task_is_at_risk
from tracker.org.models import Membership, Role, Unit, UnitKind


def validated(serializer_class: type[serializers.Serializer], request, **kwargs) -> dict:
    """The request body validated by `serializer_class` (400 otherwise); references resolve within the
    caller's scope (the serializer gets the request)."""
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (mass assignment of school, status, score, actors...)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return serializers.ModelSerializer.to_internal_value(self, data)


class DeadlineField(serializers.DateTimeField):
    """A deadline: a moment between 2000 and 2100. Anything else is a typo, and a moment before 1901
    would come back in Asia/Shanghai's old local mean time (+08:05:43), which is no valid ISO 8601."""

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)
    default_error_messages = {"out_of_range": gettext_lazy("Must be between 2000 and 2100.")}

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not self.EARLIEST <= moment < self.LATEST:
            self.fail("out_of_range")
        return moment


class DayField(serializers.DateField):
    """A calendar day between 2000 and 2099: anything else is a typo."""

    EARLIEST = date(2000, 1, 1)
    LATEST = date(2099, 12, 31)
    default_error_messages = {"out_of_range": "must be between 2000-01-01 and 2099-12-31"}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not self.EARLIEST <= day <= self.LATEST:
            self.fail("out_of_range")
        return day


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of an object in the caller's scope; an id outside it reads as one that does not exist."""

    def __init__(self, *, scoped, **kwargs):
        self.scoped = scoped  # (user) -> the queryset of objects the user can see
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if request is None:
            return queryset.none()
        return queryset.filter(pk__in=self.scoped(request.user).values("pk"))


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "name", "kind"]


class MembershipSerializer(serializers.ModelSerializer):
    unit = UnitRefSerializer()

    class Meta:
        model = Membership
        fields = ["unit", "role"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)


class UnitSerializer(StrictModelSerializer):
    parent = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Unit
        fields = ["id", "name", "code", "kind", "parent"]


class AccountCreateSerializer(StrictSerializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    unit = ScopedPrimaryKeyRelatedField(scoped=scope.units_visible, queryset=Unit.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(required=False, default="")
    language = serializers.ChoiceField(choices=[("zh-hans", "zh-hans"), ("en", "en")], required=False, default="")


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    unit = serializers.IntegerField()
    role = serializers.CharField()


class CycleSerializer(StrictModelSerializer):
    authority = ScopedPrimaryKeyRelatedField(
        scoped=scope.units_visible, queryset=Unit.objects.filter(kind=UnitKind.AUTHORITY)
    )

    class Meta:
        model = Cycle
        fields = [
            "id",
            "name",
            "authority",
            "starts_on",
            "ends_on",
            "status",
            "activated_at",
            "closed_at",
            "warning_overdue_tasks",
            "critical_overdue_tasks",
            "critical_days_overdue",
        ]
        read_only_fields = ["status", "activated_at", "closed_at"]


class CycleUpdateSerializer(CycleSerializer):
    # Declared fields ignore Meta.read_only_fields: a cycle never moves to another authority.
    authority = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(CycleSerializer.Meta):
        read_only_fields = ["status", "activated_at", "closed_at", "authority"]


class ActivateResultSerializer(serializers.Serializer):
    tasks_created = serializers.IntegerField()


class DeductionRuleSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    points = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)


class CriterionSerializer(StrictModelSerializer):
    cycle = ScopedPrimaryKeyRelatedField(scoped=scope.cycles_visible, queryset=Cycle.objects.all())
    due_at = DeadlineField()
    deduction_rules = DeductionRuleSerializer(many=True, required=False)
    max_score = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0)
    late_penalty_per_day = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0, required=False)
    late_penalty_cap = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0, required=False)

    class Meta:
        model = Criterion
        fields = [
            "id",
            "cycle",
            "code",
            "title",
            "category",
            "requirement",
            "due_at",
            "max_score",
            "min_evidence",
            "deduction_rules",
            "late_penalty_per_day",
            "late_penalty_cap",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]
        # (cycle, code) uniqueness is judged by criterion_create/update, which name the `code` field.
        validators: list = []


class CriterionUpdateSerializer(CriterionSerializer):
    # Declared fields ignore Meta.read_only_fields: a criterion never moves to another cycle.
    cycle = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(CriterionSerializer.Meta):
        read_only_fields = ["updated_at", "cycle"]


class CriterionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = ["id", "code", "title"]


class SchoolRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "name"]


class TaskSerializer(serializers.ModelSerializer):
    criterion = CriterionRefSerializer(read_only=True)
    school = SchoolRefSerializer(read_only=True)
    is_overdue = serializers.SerializerMethodField()
    days_overdue = serializers.SerializerMethodField()
    is_at_risk = serializers.SerializerMethodField()
    evidence_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "cycle",
            "criterion",
            "school",
            "status",
            "due_at",
            "original_due_at",
            "extensions",
            "progress",
            "note",
            "submitted_at",
            "reviewed_at",
            "score",
            "deductions",
            "late_penalty",
            "review_comment",
            "return_reason",
            "is_overdue",
            "days_overdue",
            "is_at_risk",
            "evidence_count",
            "updated_at",
        ]
        read_only_fields = fields

    def _now(self):
        return self.context.setdefault("now", timezone.now())

    def get_is_overdue(self, task: Task) -> bool:
        return task_is_overdue(task, self._now())

    def get_days_overdue(self, task: Task) -> int:
        return task_days_overdue(task, self._now())

    def get_is_at_risk(self, task: Task) -> bool:
        return task_is_at_risk(task, self._now())


class ProgressSerializer(StrictSerializer):
    progress = serializers.IntegerField(min_value=0, max_value=100)
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class ApproveSerializer(StrictSerializer):
    deductions = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ReturnSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=5000)
    rework_due_at = DeadlineField(required=False, allow_null=True, default=None)


class ExtendSerializer(StrictSerializer):
    due_at = DeadlineField()
    reason = serializers.CharField(max_length=5000)


class EmptySerializer(StrictSerializer):
    pass


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = ["id", "task", "filename", "size", "sha256", "content_type", "uploaded_at"]
        read_only_fields = fields


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id",
            "type",
            "occurred_at",
            "actor",
            "cycle",
            "school",
            "task",
            "subject_type",
            "subject_id",
            "data",
            "hash",
            "prev_hash",
        ]
        read_only_fields = fields

    def get_actor(self, event: Event) -> str | None:
        return event.actor.username if event.actor_id else None
