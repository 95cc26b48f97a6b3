"""/integrity/lists/ (the two lists' items) and /integrity/registers/ (each school's register of risk
points, with its review). Reads go through tracker.scope and the integrity selectors, writes through the
integrity services (the API's), judged in the API's order: out of scope 404, wrong role 403, bad form
400, wrong state 409.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.errors import DomainError
from tracker.integrity import list_services, register_services
from tracker.integrity.models import RiskPoint
from tracker.integrity.rules import register_year
from tracker.integrity.selectors import items_applicable, register_rows, register_summaries
from tracker.integrity.transitions import EDITABLE
from tracker.models import Role, Unit, UnitKind

from .. import integrity_charts as charts
from .. import integrity_forms as f
from ..access import is_authority
from ..errors import refusal

PAGE_SIZE = 50


def _refused(request: HttpRequest, exc: DomainError) -> int:
    refused = refusal(exc)
    messages.error(request, refused.message)
    return refused.status


def _invalid(request: HttpRequest) -> int:
    messages.error(request, _("Please correct the form."))
    return 400


# --- The two lists ----------------------------------------------------------------------------------------
def _writable_units(user):
    """The units whose items the person writes: as a supervisor, their authorities; as a school, its own."""
    if user.is_superuser:
        return Unit.objects.filter(kind__in=[UnitKind.AUTHORITY, UnitKind.SCHOOL]).order_by("kind", "name")
    # One filter() per membership: the user and the role must be of the same membership row.
    supervised = Q(memberships__user=user, memberships__role=Role.SUPERVISOR, kind=UnitKind.AUTHORITY)
    own_school = Q(memberships__user=user, memberships__role=Role.SCHOOL, kind=UnitKind.SCHOOL)
    return Unit.objects.filter(supervised | own_school).distinct().order_by("kind", "name")


def _may_write(user, unit: Unit) -> bool:
    role = Role.SUPERVISOR if unit.kind == UnitKind.AUTHORITY else Role.SCHOOL
    return scope.has_role_over(user, unit, role)


@login_required
@require_http_methods(["GET", "POST"])
def lists(request: HttpRequest) -> HttpResponse:
    user = request.user
    units = _writable_units(user)
    visible = scope.list_items_visible(user).select_related("unit")
    status, create_form, edit_form = 200, None, None
    editing = visible.filter(pk=int(request.GET["edit"])).first() if request.GET.get("edit", "").isdigit() else None
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "create":
            create_form = f.ListItemForm(request.POST, units=units)
            if not units.exists():
                raise PermissionDenied
            if not create_form.is_valid():
                status = _invalid(request)
            else:
                try:
                    list_services.list_item_create(actor=user, **create_form.cleaned_data)
                except DomainError as exc:
                    status = _refused(request, exc)
                else:
                    messages.success(request, _("The item has been added."))
                    return redirect(request.path)
        elif action == "update":
            raw = request.POST.get("item", "")
            editing = visible.filter(pk=int(raw)).first() if raw.isdigit() else None
            if editing is None:
                raise Http404
            if not _may_write(user, editing.unit):
                raise PermissionDenied
            edit_form = f.ListItemEditForm(request.POST)
            if not edit_form.is_valid():
                status = _invalid(request)
            else:
                try:
                    list_services.list_item_update(actor=user, item=editing, changes=edit_form.cleaned_data)
                except DomainError as exc:
                    status = _refused(request, exc)
                else:
                    messages.success(request, _("The item has been saved."))
                    return redirect(request.path)
        else:
            raise BadRequest("unknown action")
    if editing is not None and edit_form is None:
        if not _may_write(user, editing.unit):
            editing = None
        else:
            edit_form = f.ListItemEditForm(
                initial={k: getattr(editing, k) for k in ("code", "title", "category", "basis")}
            )
    wanted = request.GET.get("list", "")
    shown = visible.filter(list=wanted) if wanted in ("micro_power", "negative") else visible
    page = Paginator(shown.order_by("list", "code", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "wanted": wanted,
        "editable": {item.pk for item in page if _may_write(user, item.unit)},
        "create_form": create_form or (f.ListItemForm(units=units) if units.exists() else None),
        "editing": editing,
        "edit_form": edit_form,
    }
    return render(request, "web/integrity/lists.html", context, status=status)


# --- Registers ---------------------------------------------------------------------------------------------
def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    if raw == "":
        return register_year(timezone.now())
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise BadRequest("year must be a year")
    return int(raw)


@login_required
def registers(request: HttpRequest) -> HttpResponse:
    """A school's own register; for supervisors and inspectors, every school's register of a year."""
    user = request.user
    year = _year(request)
    schools = scope.units_visible(user).filter(kind=UnitKind.SCHOOL).order_by("name", "id")
    if not is_authority(user):
        own = list(schools[:2])
        if len(own) == 1:
            return redirect(f"{reverse('web:register', args=[own[0].pk])}?year={year}")
    page = Paginator(schools, PAGE_SIZE).get_page(request.GET.get("page"))
    summaries = register_summaries(school_ids=[school.pk for school in page], year=year)
    rows = [{**summaries[school.pk], "school": school} for school in page]
    return render(request, "web/integrity/registers.html", {"page": page, "rows": rows, "year": year})


def _map(risk: RiskPoint) -> dict[str, Any] | None:
    """A risk point's process map as a flowchart (a data-chart of its own), or None without one."""
    if not risk.process_map:
        return None
    return {
        "name": f"map-{risk.pk}",
        "source": f"chart-map-{risk.pk}-data",
        "option": charts.process_map(risk.process_map),
        "height": charts.process_map_height(len(risk.process_map)),
    }


def _risk_form(request: HttpRequest, school: Unit, data=None, **kwargs) -> f.RiskPointForm:
    return f.RiskPointForm(data, items=items_applicable(school_id=school.pk), **kwargs)


def _register_post(request: HttpRequest, school: Unit, year: int) -> tuple[int, dict[str, Any]] | None:
    """Do the posted action on the register; None on success, else (status, bound forms)."""
    user = request.user
    action = request.POST.get("action", "")
    school_actions = {"add_risk", "edit_risk", "delete_risk", "submit"}
    role = Role.SCHOOL if action in school_actions else Role.SUPERVISOR
    if action not in school_actions | {"approve", "return"}:
        raise BadRequest("unknown action")
    risk = None
    if action in ("edit_risk", "delete_risk"):
        raw = request.POST.get("risk", "")
        risk = scope.risk_points_visible(user).filter(pk=int(raw), school=school).first() if raw.isdigit() else None
        if risk is None:
            raise Http404
    if not scope.has_role_over(user, school, role):
        raise PermissionDenied
    try:
        if action in ("add_risk", "edit_risk"):
            form = _risk_form(request, school, request.POST)
            if not form.is_valid():
                return _invalid(request), {"risk_form": form, "risk": risk}
            fields = {k: form.cleaned_data[k] for k in ("item", "post", "level", "description", "measures")}
            fields["process_map"] = form.cleaned_data["process_map"]
            if risk is None:
                register_services.risk_create(actor=user, school=school, **fields)
                messages.success(request, _("The risk point has been added."))
            else:
                register_services.risk_update(actor=user, risk=risk, changes=fields)
                messages.success(request, _("The risk point has been saved."))
        elif action == "delete_risk":
            register_services.risk_delete(actor=user, risk=risk)
            messages.success(request, _("The risk point has been deleted."))
        elif action == "submit":
            register_services.register_submit(actor=user, school=school, year=year)
            messages.success(request, _("The register has been submitted for review."))
        elif action == "approve":
            register_services.register_approve(actor=user, school=school, year=year)
            messages.success(request, _("The register has been approved."))
        else:
            form = f.ReturnRegisterForm(request.POST)
            if not form.is_valid():
                return _invalid(request), {"return_form": form}
            register_services.register_return(actor=user, school=school, year=year, reason=form.cleaned_data["reason"])
            messages.success(request, _("The register has been returned to the school."))
    except DomainError as exc:
        return _refused(request, exc), {}
    return None


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, school_id: int) -> HttpResponse:
    user = request.user
    school = scope.units_visible(user).filter(pk=school_id, kind=UnitKind.SCHOOL).first()
    if school is None:
        raise Http404
    year = _year(request)
    status, bound = 200, {}
    if request.method == "POST":
        outcome = _register_post(request, school, year)
        if outcome is None:
            return redirect(request.get_full_path())
        status, bound = outcome
    summary = register_summaries(school_ids=[school.pk], year=year)[school.pk]
    risks = list(register_rows(school_id=school.pk, year=year))
    by_post: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for risk in risks:
        by_post[risk.post][risk.level] += 1
    editable = summary["status"] in EDITABLE and year == register_year(timezone.now())
    can_edit = editable and scope.has_role_over(user, school, Role.SCHOOL)
    editing: RiskPoint | None = bound.get("risk")
    if editing is None and can_edit and request.GET.get("edit", "").isdigit():
        editing = next((r for r in risks if r.pk == int(request.GET["edit"])), None)
    risk_form = bound.get("risk_form")
    if risk_form is None and can_edit:
        initial = f.RiskPointForm.initial_of(editing) if editing is not None else None
        risk_form = _risk_form(request, school, initial=initial)
    context = {
        "school": school,
        "year": year,
        "summary": summary,
        "risks": [{"risk": risk, "map": _map(risk)} for risk in risks],
        "levels_chart": charts.risk_levels(summary, by_post),
        "can_edit": can_edit,
        "can_submit": can_edit and scope.has_role_over(user, school, Role.SCHOOL),
        "can_review": summary["status"] == "submitted" and scope.has_role_over(user, school, Role.SUPERVISOR),
        "editing": editing,
        "risk_form": risk_form,
        "return_form": bound.get("return_form") or f.ReturnRegisterForm(),
    }
    return render(request, "web/integrity/register.html", context, status=status)
