"""?ordering= for every list: DRF's OrderingFilter, strict. An unknown field is a 400 naming `ordering`
(DRF drops it silently, so a typo returns a list in an order the client did not ask for), the schema
documents the fields each list takes, and every ordering ends with the id so that pages never overlap."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter


class StrictOrderingFilter(OrderingFilter):
    def field_names(self, view, queryset=None) -> list[str]:
        declared = getattr(view, "ordering_fields", self.ordering_fields)
        if isinstance(declared, list | tuple):
            return [item if isinstance(item, str) else item[0] for item in declared]
        if queryset is None:
            queryset = getattr(view, "queryset", None)
        return [name for name, _label in self.get_valid_fields(queryset, view, {})]

    def get_ordering(self, request, queryset, view):
        text = request.query_params.get(self.ordering_param)
        if not text:
            ordering = list(self.get_default_ordering(view) or [])
        else:
            ordering = [term.strip() for term in text.split(",")]
            known = set(self.field_names(view, queryset))
            unknown = [term for term in ordering if term.removeprefix("-") not in known]
            if unknown:
                message = _("unknown ordering field(s): %(unknown)s; one of: %(known)s") % {
                    "unknown": ", ".join(unknown),
                    "known": ", ".join(sorted(known)),
                }
                raise ValidationError({self.ordering_param: [message]})
        if ordering and not any(term.removeprefix("-") in ("id", "pk") for term in ordering):
            ordering.append("id")
        return ordering

    def get_schema_operation_parameters(self, view):
        names = sorted(self.field_names(view))
        term = "-?(?:" + "|".join(re.escape(name) for name in names) + ")"
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"comma-separated fields, `-` for descending: {', '.join(names)}",
                "schema": {"type": "string", "pattern": f"^{term}(?:,{term})*$"},
            }
        ]
