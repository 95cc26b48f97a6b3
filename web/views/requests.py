"""/requests/: the supervisors' queue of what schools asked (CONTRACT section 7): extension requests and
appeals waiting for a decision, oldest first, each with its decision form. Inspectors read it.

A decision is judged as the API judges it: out of scope 404, not a supervisor of the school 403 (and
the approver of an appealed task 403 while another supervisor can decide), bad form 400, already
decided 409. It calls the same service as the API, so it records the same events.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.assessment.appeal_services import appeal_decide, appeal_reviewer_check
from tracker.assessment.extension_services import extension_request_decide
from tracker.assessment.fairness_models import AppealStatus, ExtensionStatus
from tracker.assessment.texts import moment_said
from tracker.assessment.transitions import DECIDING_ROLE
from tracker.errors import DomainError

from .. import forms as f
from ..access import require_authority
from ..errors import refusal
from .tasks import fields_said

SHOWN = 50  # of each kind, oldest first: the queue is worked from its head
RELATED = ("task__criterion", "task__school", "task__reviewed_by", "created_by")


class _Invalid(Exception):
    """The decision form did not validate: the page shows it again with its errors (400)."""

    def __init__(self, key: tuple[str, int], form) -> None:
        super().__init__(key)
        self.key, self.form = key, form


class _NotYours(Exception):
    """Not a supervisor of the request's school (403)."""


def _pending(visible, status: str):
    return visible.filter(status=status).select_related(*RELATED).order_by("created_at", "id")


def _page(request: HttpRequest, *, bound: dict[tuple[str, int], Any] | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    bound = bound or {}
    extensions = _pending(scope.extension_requests_visible(user), ExtensionStatus.PENDING)
    appeals = _pending(scope.appeals_visible(user), AppealStatus.PENDING)
    extension_rows = [
        {
            "item": item,
            "can_decide": scope.has_role_over(user, item.task.school_id, DECIDING_ROLE),
            "form": bound.get(("extension", item.pk)) or f.ExtensionDecisionForm(prefix=f"x{item.pk}"),
        }
        for item in extensions[:SHOWN]
    ]
    appeal_rows = [
        {
            "item": item,
            "can_decide": scope.has_role_over(user, item.task.school_id, DECIDING_ROLE),
            "approver": item.task.reviewed_by_id == user.pk,
            "form": bound.get(("appeal", item.pk))
            or f.AppealDecisionForm(
                prefix=f"a{item.pk}",
                rules=item.task.rules or [],
                initial={"deductions": list(item.task.deductions)},
            ),
        }
        for item in appeals[:SHOWN]
    ]
    context = {
        "extension_rows": extension_rows,
        "extension_count": extensions.count(),
        "appeal_rows": appeal_rows,
        "appeal_count": appeals.count(),
        "shown": SHOWN,
    }
    template = "web/requests/_queue.html" if request.htmx else "web/requests/queue.html"
    return render(request, template, context, status=status)


def _item(request: HttpRequest, visible, name: str):
    """The request or appeal the form names, in the caller's scope (404 otherwise), and theirs to decide (403)."""
    try:
        pk = int(request.POST.get(name, ""))
    except ValueError:
        raise Http404 from None
    item = visible.select_related(*RELATED).filter(pk=pk).first()
    if item is None:
        raise Http404
    if not scope.has_role_over(request.user, item.task.school_id, DECIDING_ROLE):
        raise _NotYours
    return item


def _decide_extension(request: HttpRequest) -> str:
    item = _item(request, scope.extension_requests_visible(request.user), "request")
    form = f.ExtensionDecisionForm(request.POST, prefix=f"x{item.pk}")
    if not form.is_valid():
        raise _Invalid(("extension", item.pk), form)
    data = form.cleaned_data
    done = extension_request_decide(
        request=item, actor=request.user, decision=data["decision"], due_at=data["due_at"], comment=data["comment"]
    )
    if done.status == ExtensionStatus.APPROVED:
        return _("Extension approved: %(task)s is now due %(due)s.") % {
            "task": item.task.label,
            "due": moment_said(done.decision_due_at),
        }
    return _("Extension request rejected.")


def _decide_appeal(request: HttpRequest) -> str:
    item = _item(request, scope.appeals_visible(request.user), "appeal")
    appeal_reviewer_check(appeal=item, actor=request.user)  # 403 same_reviewer, before the form
    form = f.AppealDecisionForm(request.POST, prefix=f"a{item.pk}", rules=item.task.rules or [])
    if not form.is_valid():
        raise _Invalid(("appeal", item.pk), form)
    data = form.cleaned_data
    amend = data["decision"] == "amend"
    done = appeal_decide(
        appeal=item,
        actor=request.user,
        decision=data["decision"],
        comment=data["comment"],
        deductions=list(data["deductions"]) if amend else None,
        waive_late_penalty=data["waive_late_penalty"] if amend else False,
    )
    return _("Appeal decided: the score is %(score)s.") % {"score": done.score_after}


DECISIONS = {"decide_extension": _decide_extension, "decide_appeal": _decide_appeal}


@login_required
@require_http_methods(["GET", "POST"])
def request_queue(request: HttpRequest) -> HttpResponse:
    require_authority(request.user)  # 403: schools follow their requests on their task pages
    if request.method == "GET":
        return _page(request)
    decide = DECISIONS.get(request.POST.get("action", ""))
    if decide is None:
        messages.error(request, _("Unknown action."))
        return _page(request, status=400)
    try:
        done = decide(request)
    except _NotYours:
        messages.error(request, _("Only a supervisor of this school's authority can decide."))
        return _page(request, status=403)
    except _Invalid as invalid:
        messages.error(request, _("Please correct the decision: %(fields)s.") % {"fields": fields_said(invalid.form)})
        return _page(request, bound={invalid.key: invalid.form}, status=400)
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        return _page(request, status=refused.status)
    messages.success(request, done)
    if request.htmx:
        return _page(request)
    return redirect("web:requests")
