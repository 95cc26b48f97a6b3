"""Query filters of the list endpoints. Every id a filter accepts is looked up within the caller's
scope, so filtering on an out-of-scope id answers exactly as for an id that does not exist (400)."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters

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
    """Builds the fields of the parameters the request gives and no others: a filter not given filters
    nothing, and building its field costs a scoped choice queryset (the caller's units, cycles, criteria
    walked up and down the tree) on every request. The browsable API's filter form still shows them all."""

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        renderer = getattr(self.request, "accepted_renderer", None)
        if data is not None and getattr(renderer, "format", None) != "api":
            self.filters = {name: filter_ for name, filter_ in self.filters.items() if name in data}


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

    def filter_overdue(self, queryset, name, value):
        q = overdue_q(timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)

    def filter_at_risk(self, queryset, name, value):
        q = at_risk_q(timezone.now())
        return queryset.filter(q) if value else queryset.exclude(q)


class EventFilter(filters.FilterSet):
    cycle = filters.ModelChoiceFilter(queryset=cycles_in_scope)
    school = filters.ModelChoiceFilter(queryset=units_in_scope)
    task = filters.ModelChoiceFilter(queryset=tasks_in_scope)
    type = filters.CharFilter(max_length=64)

    class Meta:
        model = Event
        fields = ["cycle", "school", "type", "task"]
