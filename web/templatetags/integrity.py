"""Labels of the integrity programme's codes (lists, posts, levels, statuses, results) for its pages."""

from __future__ import annotations

from django import template
from django.utils.translation import pgettext

from .. import labels

register = template.Library()


@register.filter
def list_label(code: str) -> str:
    return labels.label(labels.LIST_KIND, code)


@register.filter
def post_label(code: str) -> str:
    return labels.label(labels.POST, code)


@register.filter
def level_label(code: str) -> str:
    return labels.label(labels.LEVEL, code)


@register.filter
def register_label(code: str) -> str:
    return labels.label(labels.REGISTER_STATUS, code)


@register.filter
def campaign_status_label(code: str) -> str:
    return labels.label(labels.CAMPAIGN_STATUS, code)


@register.filter
def result_label(code: str | None) -> str:
    if code is None:
        return pgettext("check result", "Not checked yet")
    return labels.label(labels.CHECK_RESULT, code)


@register.filter
def share(part: int, whole: int) -> str:
    """part / whole as a whole percentage ("–" without a whole)."""
    return f"{round(100 * part / whole)}%" if whole else "–"
