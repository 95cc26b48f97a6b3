"""Filters the pages share: labels of codes, percentages, local times, event summaries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tracker.audit.types import EventType

from .. import labels

register = template.Library()


@register.filter
def status_label(code: str) -> str:
    return labels.label(labels.STATUS, code)


@register.filter
def request_status_label(code: str) -> str:
    return labels.label(labels.REQUEST_STATUS, code)


@register.filter
def ledger_action_label(code: str) -> str:
    return labels.label(labels.LEDGER_ACTION, code)


@register.filter
def ledger_source_label(code: str) -> str:
    return labels.label(labels.LEDGER_SOURCE, code)


@register.filter
def severity_label(code: str | None) -> str:
    return labels.label(labels.SEVERITY, code)


@register.filter
def kind_label(code: str) -> str:
    return labels.label(labels.NOTIFICATION_KIND, code)


@register.filter
def role_label(code: str) -> str:
    return labels.label(labels.ROLE, code)


@register.filter
def cycle_status_label(code: str) -> str:
    return labels.label(labels.CYCLE_STATUS, code)


@register.filter
def inspection_kind_label(code: str) -> str:
    return labels.label(labels.INSPECTION_KIND, code)


@register.filter
def target_kind_label(code: str) -> str:
    return labels.label(labels.TARGET_KIND, code)


@register.filter
def case_type_label(code: str) -> str:
    return labels.label(labels.CASE_TYPE, code)


@register.filter
def case_status_label(code: str) -> str:
    return labels.label(labels.CASE_STATUS, code)


@register.filter
def pct(value: float | None) -> str:
    """A rate in [0, 1] as a percentage with one decimal; a dash when there is none."""
    if value is None or value == "":
        return "–"
    return f"{float(value) * 100:.1f}%"


@register.filter
def score(value: Any) -> str:
    if value is None or value == "":
        return "–"
    number = Decimal(str(value)).quantize(Decimal("0.01")).normalize()
    return f"{number:f}"


def _moment(value: datetime | str | None) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value


@register.filter
def when(value: datetime | str | None) -> str:
    """A local date and time, YYYY-MM-DD HH:MM (the same in both languages)."""
    moment = _moment(value)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "–"


@register.filter
def day(value: datetime | str | None) -> str:
    moment = _moment(value)
    return timezone.localtime(moment).strftime("%Y-%m-%d") if moment else "–"


@register.filter
def hours(value: float | None) -> str:
    """Hours as the page says them: "5.5 h" below two days, "3.2 d" above."""
    if value is None:
        return "–"
    if value < 48:
        return _("%(n)s h") % {"n": f"{value:.1f}"}
    return _("%(n)s d") % {"n": f"{value / 24:.1f}"}


@register.simple_tag
def event_label(event) -> str:
    return labels.label(labels.EVENT, event.type)


@register.simple_tag
def event_detail(event) -> str:
    """The facts of a task event a reader needs (what was said, the new values), in their language."""
    data = event.data or {}
    kind = event.type
    if kind == EventType.TASK_PROGRESSED:
        text = _("Progress %(progress)s%%") % {"progress": data.get("progress")}
        return f"{text}: {data['note']}" if data.get("note") else text
    if kind == EventType.TASK_SUBMITTED:
        return _("On time") if data.get("on_time") else _("After the deadline")
    if kind == EventType.TASK_APPROVED:
        parts = [_("Score %(score)s") % {"score": score(data.get("score"))}]
        if data.get("deductions"):
            parts.append(_("deductions: %(codes)s") % {"codes": ", ".join(data["deductions"])})
        if data.get("late_penalty") not in (None, "0", "0.00", 0):
            parts.append(_("late penalty %(points)s") % {"points": score(data.get("late_penalty"))})
        if data.get("comment"):
            parts.append(data["comment"])
        return _("; ").join(parts)
    if kind == EventType.TASK_RETURNED:
        text = data.get("reason", "")
        if data.get("rework_due_at"):
            text += " " + _("(rework by %(due)s)") % {"due": when(data["rework_due_at"])}
        return text
    if kind == EventType.TASK_EXTENDED:
        return _("New deadline %(due)s: %(reason)s") % {
            "due": when(data.get("due_at")),
            "reason": data.get("reason", ""),
        }
    if kind in (EventType.EVIDENCE_UPLOADED, EventType.EVIDENCE_DELETED):
        return data.get("filename", "")
    return _fairness_detail(kind, data)


def _fairness_detail(kind: str, data: dict[str, Any]) -> str:
    """Extension requests and appeals, and their decisions (CONTRACT section 7)."""
    if kind == EventType.EXTENSION_REQUESTED:
        text = _("Until %(due)s: %(reason)s") % {
            "due": when(data.get("requested_due_at")),
            "reason": data.get("reason"),
        }
        return text + (" " + _("(after the deadline)") if data.get("late_request") else "")
    if kind == EventType.EXTENSION_DECIDED:
        if data.get("decision") == "approve":
            return _("Approved, new deadline %(due)s: %(comment)s") % {
                "due": when(data.get("due_at")),
                "comment": data.get("comment", ""),
            }
        return _("Rejected: %(comment)s") % {"comment": data.get("comment", "")}
    if kind == EventType.APPEAL_FILED:
        return _("Contests %(codes)s: %(reason)s") % {
            "codes": ", ".join(data.get("contested", [])),
            "reason": data.get("reason", ""),
        }
    if kind == EventType.APPEAL_DECIDED:
        return _("Score %(before)s → %(after)s: %(comment)s") % {
            "before": score(data.get("score_before")),
            "after": score(data.get("score_after")),
            "comment": data.get("comment", ""),
        }
    return ""


@register.simple_tag(takes_context=True)
def query(context, **changes) -> str:
    """The current query string with some parameters changed (None or "" drops one): for pagination links."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
