"""/integrity/campaigns/ (self-inspection campaigns: supervisors launch and activate them) and
/integrity/campaigns/{id}/: a school's checklist, quick to tick on a phone (one tap for "no problem",
a short form for a finding), with its rectifications; for supervisors and inspectors the campaign's
dashboard (the API's selectors, charts, the rows per school or child unit, the exports).

Writes go through the integrity services, judged in the API's order: 404, 403, 400, 409.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.assessment.rules import overdue_q
from tracker.errors import DomainError
from tracker.integrity import campaign_services, check_services
from tracker.integrity.models import Campaign, CampaignKind, CampaignStatus, Check
from tracker.models import Role, TaskKind, Unit, UnitKind
from tracker.org.models import AUTHORITY_ROLES
from tracker.reporting.integrity import integrity_schools, integrity_units

from .. import integrity_charts as charts
from .. import integrity_forms as f
from ..errors import refusal
from ..timing import timing

PAGE_SIZE = 50


def _supervised(user):
    """The authorities the person may launch campaigns for."""
    if user.is_superuser:
        return Unit.objects.filter(kind=UnitKind.AUTHORITY).order_by("name")
    return Unit.objects.filter(
        kind=UnitKind.AUTHORITY, memberships__user=user, memberships__role=Role.SUPERVISOR
    ).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = scope.campaigns_visible(user).select_related("authority")
    authorities = _supervised(user)
    status, form = 200, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            if not authorities.exists():
                raise PermissionDenied
            form = f.CampaignForm(request.POST, authorities=authorities)
            if not form.is_valid():
                messages.error(request, _("Please correct the form."))
                status = 400
            else:
                try:
                    campaign_services.campaign_create(actor=user, **form.cleaned_data)
                except DomainError as exc:
                    refused = refusal(exc)
                    messages.error(request, refused.message)
                    status = refused.status
                else:
                    messages.success(request, _("The campaign has been created: activate it to send the checklists."))
                    return redirect(request.path)
        elif action in ("activate", "close"):
            raw = request.POST.get("campaign", "")
            campaign = visible.filter(pk=int(raw)).first() if raw.isdigit() else None
            if campaign is None:
                raise Http404
            if not scope.has_role_over(user, campaign.authority_id, Role.SUPERVISOR):
                raise PermissionDenied
            try:
                if action == "activate":
                    created = campaign_services.campaign_activate(actor=user, campaign=campaign)
                    messages.success(request, _("Activated: %(n)s checks sent to the schools.") % {"n": created})
                else:
                    campaign_services.campaign_close(actor=user, campaign=campaign)
                    messages.success(request, _("The campaign is closed."))
            except DomainError as exc:
                refused = refusal(exc)
                messages.error(request, refused.message)
                status = refused.status
            else:
                return redirect(request.path)
        else:
            raise BadRequest("unknown action")
    campaigns = visible.annotate(
        draft_first=Case(When(status=CampaignStatus.ACTIVE, then=0), default=1, output_field=IntegerField())
    ).order_by("draft_first", "-due_at", "id")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    managed = {c.pk for c in page if scope.has_role_over(user, c.authority_id, Role.SUPERVISOR)}
    context = {
        "page": page,
        "managed": managed,
        "form": form or (f.CampaignForm(authorities=authorities) if authorities.exists() else None),
    }
    return render(request, "web/integrity/campaigns.html", context, status=status)


# --- One campaign ---------------------------------------------------------------------------------------------
def _check_row(check: Check, form: f.CheckForm | None = None) -> dict[str, Any]:
    return {"check": check, "form": form}


def _record(request: HttpRequest, campaign: Campaign) -> tuple[int, Check | None, f.CheckForm | None]:
    """Record one check of the person's school: (status, the check, the bound form when refused)."""
    user = request.user
    raw = request.POST.get("check", "")
    check = (
        scope.checks_visible(user).filter(pk=int(raw), campaign=campaign).select_related("item").first()
        if raw.isdigit()
        else None
    )
    if check is None:
        raise Http404
    if not scope.has_role_over(user, check.school_id, Role.SCHOOL):
        raise PermissionDenied
    form = f.CheckForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please correct the form."))
        return 400, check, form
    try:
        check = check_services.check_record(
            actor=user,
            check=check,
            result=form.cleaned_data["result"],
            note=form.cleaned_data["note"],
            finding=form.finding(),
        )
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        check.refresh_from_db()
        return refused.status, check, form
    if check.task_id:
        messages.success(request, _("Finding recorded: a rectification task has been opened."))
    else:
        messages.success(request, _("Checked: no problem."))
    return 200, check, None


def _checklist(user, campaign: Campaign, schools: list[Unit]) -> dict[str, Any]:
    checks = (
        Check.objects.filter(campaign=campaign, school__in=schools)
        .select_related("item", "school", "task")
        .order_by("school__name", "item__list", "item__code", "id")
    )
    rows = [_check_row(check) for check in checks]
    done = sum(1 for row in rows if row["check"].result is not None)
    return {"checks": rows, "done": done, "total": len(rows)}


def _rectifications(user, campaign: Campaign, now) -> list[dict[str, Any]]:
    tasks = (
        scope.tasks_visible(user)
        .filter(campaign=campaign, kind=TaskKind.RECTIFICATION)
        .select_related("school")
        .annotate(late_first=Case(When(overdue_q(now), then=0), default=1, output_field=IntegerField()))
        .order_by("late_first", "status", "due_at", "id")[:200]
    )
    return [{"task": task, **timing(task, now)} for task in tasks]


def _dashboard(request: HttpRequest, campaign: Campaign, now) -> dict[str, Any]:
    """The campaign's dashboard for a supervisor or inspector (the API's access rules and selectors)."""
    user = request.user
    access = scope.campaign_access(user=user, campaign_id=campaign.pk)
    if not access.roots:
        return {}
    unit = None
    raw = request.GET.get("unit", "")
    if raw:
        if not raw.isdigit():
            raise BadRequest("unit must be a number")
        unit = Unit.objects.filter(pk=int(raw)).first()
        if unit is None or not any(scope.has_role_over(user, unit, role) for role in AUTHORITY_ROLES):
            raise Http404
        if unit.kind != UnitKind.AUTHORITY or not scope.unit_in_cycle(unit=unit, cycle=campaign):
            raise BadRequest("unit must be an authority of the campaign")
    if unit is not None:
        report, key, rows_key = integrity_units(campaign=campaign, unit=unit, now=now), "unit", "units"
    else:
        report, key, rows_key = integrity_schools(campaign=campaign, roots=access.roots, now=now), "school", "schools"
    rows = report[rows_key]
    return {
        "unit": unit,
        "totals": report["totals"],
        "key": key,
        "rows": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "charts": {
            "progress": charts.checklist_progress(rows, key=key),
            "rectifications": charts.rectifications(report["totals"]),
        },
    }


@login_required
@require_http_methods(["GET", "POST"])
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = scope.campaigns_visible(user).select_related("authority").filter(pk=pk).first()
    if campaign is None:
        raise Http404
    status, bound = 200, None
    if request.method == "POST":
        if request.POST.get("action") != "check":
            raise BadRequest("unknown action")
        status, check, form = _record(request, campaign)
        if request.htmx:
            mine = Check.objects.filter(campaign=campaign, school_id=check.school_id)
            counts = {"done": mine.filter(result__isnull=False).count(), "total": mine.count()}
            context = {"row": _check_row(check, form), "campaign": campaign, "can_tick": True, "counts": counts}
            return render(request, "web/integrity/_check.html", context, status=status)
        if status == 200:
            return redirect(request.get_full_path())
        bound = (check.pk, form)
    now = timezone.now()
    own_schools = [
        school
        for school in scope.units_visible(user).filter(kind=UnitKind.SCHOOL, memberships__user=user).distinct()
        if scope.has_role_over(user, school, Role.SCHOOL)
    ]
    checklist = _checklist(user, campaign, own_schools) if own_schools else None
    if checklist and bound:
        for row in checklist["checks"]:
            if row["check"].pk == bound[0]:
                row["form"] = bound[1]
    context = {
        "campaign": campaign,
        "checklist": checklist,
        "can_tick": campaign.status == CampaignStatus.ACTIVE,
        "is_cases": campaign.kind == CampaignKind.CASES,
        "rectifications": _rectifications(user, campaign, now),
        "dashboard": _dashboard(request, campaign, now) if not own_schools else {},
    }
    return render(request, "web/integrity/campaign.html", context, status=status)
