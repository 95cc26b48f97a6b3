"""Date and time fields of request bodies and query strings: bounded, so no input reaches a conversion
that overflows (years 1 and 9999 with an offset), and deadlines that take a bare date as the end of that
day in TIME_ZONE. StrictModelSerializer maps model date/time fields to these; explicit fields use them."""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.dates import RANGE_TEXT, date_in_range, end_of_day, moment_in_range, roughly_in_range

BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OUT_OF_RANGE = _("must be between 2000-01-01 and 2099-12-31")


class BoundedDateField(serializers.DateField):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value) -> date:
        day = super().to_internal_value(value)
        if not date_in_range(day):
            self.fail("out_of_range")
        return day


class BoundedDateTimeField(serializers.DateTimeField):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def enforce_timezone(self, value: datetime) -> datetime:
        # Before any conversion: converting year 1 or 9999 with an offset overflows.
        if not roughly_in_range(value):
            self.fail("out_of_range")
        return super().enforce_timezone(value)

    def to_internal_value(self, value) -> datetime:
        moment = super().to_internal_value(value)
        if not moment_in_range(moment):
            self.fail("out_of_range")
        return moment


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
        "description": f"a moment, or a bare date meaning 23:59:59 that day in TIME_ZONE; {RANGE_TEXT}",
    }
)
class DeadlineField(BoundedDateTimeField):
    """A deadline (CONTRACT section 2, v2): a moment, or a bare date meaning the end of that day in
    TIME_ZONE. Outside 2000-2099 it is refused: a typo, and before 1901 Asia/Shanghai's offset is its
    local mean time (+08:05:43), which no ISO 8601 client reads."""

    def to_internal_value(self, value) -> datetime:
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        if isinstance(value, str) and BARE_DATE.match(value.strip()):
            day = BoundedDateField().run_validation(value.strip())
            return end_of_day(day)
        return super().to_internal_value(value)


# --- Query strings (django-filter) -----------------------------------------------------------------------
class BoundedIsoDateTimeFormField(filters.IsoDateTimeFilter.field_class):
    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value):
        try:
            parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
        except ValueError:  # well-formed but no such date: the field's own check names it
            parsed = None
        if parsed is not None and not roughly_in_range(parsed):
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        moment = super().to_python(value)
        if moment is not None and not moment_in_range(moment):
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return moment


class BoundedIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeFormField
