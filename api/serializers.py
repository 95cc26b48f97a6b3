"""Input and output shapes of CONTRACT section 3. Business rules live in the services of tracker's contexts."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from tracker import scope
from tracker.assessment.models import Criterion, Cycle, Evidence, Task
from tracker.audit.models import Event
from tracker.org.models import Membership, Role, Unit, UnitKind
from tracker.text import multi_line, single_line

from .fields import BoundedDateField, BoundedDateTimeField, DeadlineField
from .task_rows import task_detail_row, task_row


def validated(serializer_class: type[serializers.Serializer], request, **kwargs) -> dict:
    """The request body validated by `serializer_class` (400 otherwise); references resolve within the
    caller's scope (the serializer gets the request)."""
    serializer = serializer_class(data=request.data, context={"request": request}, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# Text fields that hold several lines (notes, reasons, messages, requirements); every other text field of
# a request is one line. tracker/text.py says why no text may hold control characters.
MULTILINE_FIELDS = {"note", "reason", "comment", "message", "response", "description", "requirement"}


def _text_validator(name: str, field: serializers.Field):
    multiline = name in MULTILINE_FIELDS or field.style.get("base_template") == "textarea.html"
    return multi_line if multiline else single_line


def guard_text(fields: dict[str, serializers.Field]) -> None:
    """Give every text field of a request body (lists of text too) the control-character check."""
    for name, field in fields.items():
        target = field.child if isinstance(field, serializers.ListField) else field
        guard = _text_validator(name, target)
        # A model serializer's field has its model field's guard already (tracker/text.py).
        if isinstance(target, serializers.CharField) and not target.read_only and guard not in target.validators:
            target.validators = [*target.validators, guard]


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (mass assignment of school, status, score, actors...), and control
    characters in any text field."""

    def get_fields(self):
        fields = super().get_fields()
        guard_text(fields)
        return fields

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    # Dates and moments of every model field are bounded (api/fields.py): no input overflows a conversion.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateField: BoundedDateField,
        models.DateTimeField: BoundedDateTimeField,
    }

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown or read-only field.")] for name in unknown})
        return serializers.ModelSerializer.to_internal_value(self, data)


# A calendar day of an input (inspections' held_on, cases' occurred_on): the bounded date of api/fields.py.
DayField = BoundedDateField


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


def units_supervised(user) -> QuerySet[Unit]:
    """Units the caller acts on as a supervisor: what a supervisor's write may name (webhooks, urges,
    accounts). Anything else reads as an id that does not exist, in the same words."""
    ids = scope.unit_ids_for(user, [Role.SUPERVISOR])
    return Unit.objects.all() if ids is None else Unit.objects.filter(id__in=ids)


class UnitRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Unit
        fields = ["id", "name", "kind"]


class MembershipSerializer(serializers.ModelSerializer):
    unit = UnitRefSerializer()

    class Meta:
        model = Membership
        fields = ["unit", "role"]


LANGUAGE_CHOICES = [("zh-hans", "zh-hans"), ("en", "en")]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_blank=True)
    language = serializers.ChoiceField(
        choices=[*LANGUAGE_CHOICES, ("", "")], help_text="of e-mails and notifications; empty: the site's"
    )
    is_superuser = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)


class MeUpdateSerializer(StrictSerializer):
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


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
    unit = ScopedPrimaryKeyRelatedField(scoped=units_supervised, queryset=Unit.objects.all())
    role = serializers.ChoiceField(choices=Role.choices)
    email = serializers.EmailField(required=False, default="")
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False, default="")


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
    criterion = CriterionRefSerializer(read_only=True, allow_null=True)  # null for a rectification
    school = SchoolRefSerializer(read_only=True)
    # An assessment task's criterion's title and requirement; a rectification's own (its finding or case).
    title = serializers.CharField(source="heading", read_only=True)
    requirement = serializers.CharField(source="requirement_text", read_only=True)
    # Judged at the request's time by the domain's rules (api/task_rows.py fills every field).
    is_overdue = serializers.BooleanField(read_only=True)
    days_overdue = serializers.IntegerField(read_only=True)
    is_at_risk = serializers.BooleanField(read_only=True)
    evidence_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "kind",
            "cycle",
            "campaign",
            "criterion",
            "title",
            "requirement",
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

    def to_representation(self, task: Task) -> dict:
        # The declared fields, filled without DRF's per-field machinery (api/task_rows.py).
        return task_row(task, now=self.context.setdefault("now", timezone.now()))


class TaskDetailSerializer(TaskSerializer):
    """One task, with what the school needs to do it and the supervisor to review it: the criterion's
    requirement, its deduction rules, its maximum score and the evidence it needs."""

    # The criterion's, or a rectification's fixed ones (no rules, no score, one file).
    deduction_rules = DeductionRuleSerializer(source="rules", many=True, read_only=True)
    max_score = serializers.DecimalField(max_digits=7, decimal_places=2, read_only=True)
    min_evidence = serializers.IntegerField(read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "deduction_rules", "max_score", "min_evidence"]
        read_only_fields = fields

    def to_representation(self, task: Task) -> dict:
        return task_detail_row(task, now=self.context.setdefault("now", timezone.now()))


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


class BrokenEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="null: events were removed from the chain's end")
    reason = serializers.CharField()


class ChainReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    events = serializers.IntegerField(help_text="events verified (before the first broken one)")
    first_broken = BrokenEventSerializer(allow_null=True)
