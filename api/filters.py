"""Query filters of the list endpoints. Every id a filter accepts is looked up within the caller's
scope, so filtering on an out-of-scope id answers exactly as for an id that does not exist (400)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.utils import translate_validation
from rest_framework.exceptions import ValidationError

from tracker import scope
from tracker.assessment.models import Criterion, Cycle, Task, TaskKind, TaskStatus
from tracker.assessment.rules import overdue_q
from tracker.audit.models import Event
from tracker.integrity.models import Campaign
from tracker.monitoring.rules import at_risk_q
from tracker.org.models import Unit, UnitKind

from .fields import BoundedIsoDateTimeFilter


def units_in_scope(request) -> QuerySet[Unit]:
    return scope.units_visible(request.user) if request is not None else Unit.objects.none()


def authorities_in_scope(request) -> QuerySet[Unit]:
    return units_in_scope(request).filter(kind=UnitKind.AUTHORITY)


def cycles_in_scope(request) -> QuerySet[Cycle]:
    return scope.cycles_visible(request.user) if request is not None else Cycle.objects.none()


def campaigns_in_scope(request) -> QuerySet[Campaign]:
    return scope.campaigns_visible(request.user) if request is not None else Campaign.objects.none()


def criteria_in_scope(request) -> QuerySet[Criterion]:
    return Criterion.objects.filter(cycle__in=cycles_in_scope(request))


def tasks_in_scope(request) -> QuerySet[Task]:
    return scope.tasks_visible(request.user) if request is not None else Task.objects.none()


class StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is invalid rather than silently no filter at all."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(_("Must be true or false."), code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class YearField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 2000)
        kwargs.setdefault("max_value", 2099)
        super().__init__(*args, **kwargs)


class YearFilter(filters.NumberFilter):
    """A calendar year, 2000 to 2099 (anything else is a 400, not an empty list)."""

    field_class = YearField


class UnitFilter(filters.FilterSet):
    parent = filters.ModelChoiceFilter(queryset=authorities_in_scope)

    class Meta:
        model = Unit
        fields = ["kind", "parent"]


class CycleFilter(filters.FilterSet):
    authority = filters.ModelChoiceFilter(queryset=authorities_in_scope)

    class Meta:
        model = Cycle
        fields = ["status", "authority"]


class CriterionFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)

    class Meta:
        model = Criterion
        fields = ["cycle", "category"]


class GivenFiltersOnly(filters.FilterSet):
    """Builds the filters of the parameters the request gives and no others: a filter not given filters
    nothing, and building its field costs a scoped choice queryset (the caller's units, cycles, criteria
    walked up and down the tree) on every request. The browsable API's filter form still shows them all."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        renderer = getattr(request, "accepted_renderer", None)
        self.given_only = data is not None and getattr(renderer, "format", None) != "api"
        if self.given_only:  # FilterSet.__init__ deep-copies base_filters: only these, then
            self.base_filters = {name: filter_ for name, filter_ in type(self).base_filters.items() if name in data}
        super().__init__(data, queryset, request=request, prefix=prefix)


class KeyField(forms.Field):
    """A ModelChoiceField's key, not looked up: a value that is no key is refused in ModelChoiceField's words."""

    def __init__(self, *, model, **kwargs):
        self.model = model
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.model._meta.pk.to_python(value)
        except forms.ValidationError:
            message = forms.ModelChoiceField.default_error_messages["invalid_choice"]
            raise forms.ValidationError(message, code="invalid_choice", params={"value": value}) from None


class KeyInStatementFilter(filters.Filter):
    """A scoped ModelChoiceFilter whose scope is judged in the filtered statement instead of a query of its
    own: rows come back only for a key in the caller's scope. A request whose rows are none is judged again
    with the ModelChoiceFilter (`TaskFilter.refusal`), so an out-of-scope key is refused as before."""

    field_class = KeyField

    def __init__(self, *, model, scoped, **kwargs):
        self.scoped = scoped
        super().__init__(model=model, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        in_scope = self.scoped(self.parent.request).filter(pk=value).values("pk")
        return qs.filter(**{self.field_name: value, f"{self.field_name}__in": in_scope})


class TaskFilter(GivenFiltersOnly):
    kind = filters.ChoiceFilter(choices=TaskKind.choices)
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)
    campaign = filters.ModelChoiceFilter(queryset=campaigns_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    criterion = filters.ModelChoiceFilter(queryset=criteria_in_scope)
    status = filters.ChoiceFilter(choices=TaskStatus.choices)
    overdue = StrictBooleanFilter(method="filter_overdue")
    at_risk = StrictBooleanFilter(method="filter_at_risk")
    due_before = BoundedIsoDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = BoundedIsoDateTimeFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = Task
        fields = ["kind", "cycle", "campaign", "school", "criterion", "status"]

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, cycle_in_statement=True):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.cycle_in_statement = cycle_in_statement and self.given_only and "cycle" in self.filters
        if self.cycle_in_statement:  # the list's usual filter: its scope checked by the page's own statement
            cycle = KeyInStatementFilter(field_name="cycle", model=Cycle, scoped=cycles_in_scope)
            cycle.model, cycle.parent = self.filters["cycle"].model, self
            self.filters["cycle"] = cycle

    @property
    def errors(self):
        errors = self.form.errors
        return self.refusal() if errors and self.cycle_in_statement else errors

    def refusal(self):
        """The errors of the same request judged with every choice looked up in the caller's scope."""
        return TaskFilter(self.data, self.queryset, request=self.request, cycle_in_statement=False).errors

    def filter_overdue(self, queryset, name, value):
        q = overdue_q(timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_at_risk(self, queryset, name, value):
        q = at_risk_q(timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)


def task_filters_refusal(request) -> ValidationError | None:
    """For a task list that found no rows: the 400 its filters earn when every choice is looked up in the
    caller's scope (KeyInStatementFilter judged the cycle's scope only through the rows), else None."""
    if "cycle" not in request.query_params:
        return None
    errors = TaskFilter(request.query_params, Task.objects.all(), request=request).refusal()
    return translate_validation(errors) if errors else None


class EventFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    task = filters.ModelChoiceFilter(queryset=tasks_in_scope)
    type = filters.CharFilter(max_length=64)

    class Meta:
        model = Event
        fields = ["cycle", "school", "type", "task"]
