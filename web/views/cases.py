"""/cases/ and /cases/<id>/: the cases of the person's authority for its inspectors (who move a case one
step, write its disposition and publish it) and supervisors (who read).

The same rules as /api/v1/cases/: scope.cases_visible (a school account gets 404 on every case page,
published or not: it reads the redacted notice), the case_update and case_publish services, judged in
the API's order (404 out of scope, 403 wrong role, 400 bad form, 409 wrong state). Every page that shows
cases records their reads in the case access log (via "web.list", "web.detail").
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.errors import DomainError
from tracker.inspections.case_rectification import case_rectify
from tracker.inspections.case_services import case_publish, case_reads_record, case_update
from tracker.inspections.models import Case
from tracker.inspections.transitions import next_statuses
from tracker.integrity.models import Campaign, CampaignKind, CampaignStatus
from tracker.models import Role

from .. import forms as f
from ..access import is_authority
from ..errors import refusal
from ..labels import CASE_STATUS

PAGE_SIZE = 30


def _require_case_reader(user) -> None:
    """A school account reads no case: every case page is 404 for it, like a case that is not there."""
    if not is_authority(user):
        raise Http404


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_case_reader(user)
    cases = scope.cases_visible(user).select_related("school", "notice").order_by("-occurred_on", "-id")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    case_reads_record(reader=user, cases=list(page), via="web.list")
    return render(request, "web/cases/list.html", {"page": page})


def _rectify_form(case: Case, data=None) -> f.CaseRectifyForm:
    """The authority's active self-inspection campaigns to file the rectification under (or none: the
    year's case rectifications)."""
    campaigns = Campaign.objects.filter(
        authority_id=case.authority_id, status=CampaignStatus.ACTIVE, kind=CampaignKind.SELF_INSPECTION
    ).order_by("-due_at")
    return f.CaseRectifyForm(data, campaigns=[(c.pk, c.title) for c in campaigns])


def _may_order_rectifications(user, case: Case) -> bool:
    """Inspectors and supervisors of the case's authority order its school rectifications."""
    return any(scope.has_role_over(user, case.authority_id, role) for role in (Role.INSPECTOR, Role.SUPERVISOR))


def _status_form(case: Case, data=None) -> f.CaseStatusForm:
    return f.CaseStatusForm(data, allowed=[(code, CASE_STATUS[code]) for code in next_statuses(case.status)])


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_case_reader(user)
    case = scope.cases_visible(user).filter(pk=pk).first()
    if case is None:
        raise Http404
    status, bound = 200, {}
    if request.method == "POST":
        outcome = _post(request, case)
        if outcome is None:
            return redirect(request.get_full_path())
        status, bound = outcome
    case = (
        scope.cases_visible(user)
        .select_related("school", "inspection", "notice")
        .prefetch_related("rectifications__task")
        .get(pk=pk)
    )
    case_reads_record(reader=user, cases=[case], via="web.detail")
    can_write = scope.has_role_over(user, case.authority_id, Role.INSPECTOR)
    published = hasattr(case, "notice")
    context = {
        "case": case,
        "published": published,
        "can_write": can_write and not published,
        "status_form": bound.get("status") or _status_form(case),
        "disposition_form": bound.get("disposition") or f.DispositionForm(initial={"disposition": case.disposition}),
        "can_rectify": case.school_id is not None and _may_order_rectifications(user, case),
        "rectify_form": bound.get("rectify") or _rectify_form(case),
        "rectifications": [link.task for link in case.rectifications.all()],
    }
    return render(request, "web/cases/detail.html", context, status=status)


def _post(request: HttpRequest, case: Case) -> tuple[int, dict] | None:
    """Do the posted action; None on success, else (status, bound forms to show again)."""
    user = request.user
    action = request.POST.get("action", "")
    if action == "rectify":
        return _post_rectify(request, case)
    if not scope.has_role_over(user, case.authority_id, Role.INSPECTOR):
        messages.error(request, _("Only an inspector of the case's authority can change it."))
        return 403, {}
    forms: dict = {}
    try:
        if action == "status":
            form = forms["status"] = _status_form(case, request.POST)
            if not form.is_valid():
                messages.error(request, _("Choose the next step."))
                return 400, forms
            case_update(actor=user, case=case, changes={"status": form.cleaned_data["status"]})
            messages.success(request, _("The case has moved on."))
        elif action == "disposition":
            form = forms["disposition"] = f.DispositionForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Write the disposition."))
                return 400, forms
            case_update(actor=user, case=case, changes={"disposition": form.cleaned_data["disposition"]})
            messages.success(request, _("The disposition has been saved."))
        elif action == "publish":
            case_publish(actor=user, case=case)
            messages.success(request, _("The case has been published as a notice."))
        else:
            messages.error(request, _("Unknown action."))
            return 400, {}
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        return refused.status, forms
    return None


def _post_rectify(request: HttpRequest, case: Case) -> tuple[int, dict] | None:
    """Order the case's school a rectification task (inspectors and supervisors of the authority)."""
    user = request.user
    if not _may_order_rectifications(user, case):
        messages.error(
            request, _("Only an inspector or a supervisor of the case's authority can order a rectification.")
        )
        return 403, {}
    form = _rectify_form(case, request.POST)
    forms = {"rectify": form}
    if not form.is_valid():
        messages.error(request, _("Describe what to put right and by when."))
        return 400, forms
    data = form.cleaned_data
    campaign = None
    if data["campaign"] is not None:
        campaign = Campaign.objects.filter(pk=data["campaign"], authority_id=case.authority_id).first()
    try:
        task = case_rectify(
            actor=user, case=case, description=data["description"], rectify_by=data["rectify_by"], campaign=campaign
        )
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        return refused.status, forms
    messages.success(request, _("The school has a rectification task (#%(id)s).") % {"id": task.pk})
    return None
