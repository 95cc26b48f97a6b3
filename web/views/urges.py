"""/urges/: supervisors urge lagging schools, schools answer, inspectors read.

Writes go through tracker's urge services (the API's), judged in the API's order: an urge or school
out of scope 404, wrong role 403, bad form 400, wrong state 409 (answered twice, a closed cycle).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, QuerySet, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.errors import DomainError
from tracker.models import Cycle, CycleStatus, Role, Unit, UnitKind, Urge
from tracker.monitoring.services import urge_create, urge_respond
from tracker.org.tree import descendant_ids

from .. import forms as f
from ..access import chosen_cycle, visible_cycles
from ..errors import refusal
from ..timing import urge_state

PAGE_SIZE = 30
LIST_ALL_SCHOOLS_UP_TO = 200  # above this, the form lists the flagged schools (and one chosen elsewhere)


def _urgeable(user, cycle: Cycle) -> QuerySet[Unit]:
    """The schools of the cycle the person may urge (as a supervisor over them)."""
    schools = Unit.objects.filter(kind=UnitKind.SCHOOL, id__in=descendant_ids([cycle.authority_id]))
    mine = scope.school_ids_for(user, [Role.SUPERVISOR])
    return schools if mine is None else schools.filter(id__in=mine)


def _urge_form(request: HttpRequest, cycle: Cycle, data=None) -> f.UrgeForm:
    schools = _urgeable(request.user, cycle).order_by("name", "id")
    flagged = schools.filter(flags__cycle=cycle, flags__resolved_at__isnull=True).distinct()
    chosen = request.GET.get("school", "")
    if schools.count() <= LIST_ALL_SCHOOLS_UP_TO:
        shown = list(flagged) + [school for school in schools if school not in set(flagged)]
    else:
        shown = list(flagged) + list(schools.filter(pk=int(chosen)) if chosen.isdigit() else [])
    initial = {"school": int(chosen)} if chosen.isdigit() else None
    return f.UrgeForm(data, schools=schools, shown=shown, initial=initial)


@login_required
@require_http_methods(["GET", "POST"])
def urge_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    cycles = visible_cycles(user)
    cycle = chosen_cycle(cycles, request.GET.get("cycle"))
    status = 200
    bound: dict[str, Any] = {}
    if request.method == "POST":
        outcome = _post(request, cycle)
        if outcome is None:
            return redirect(request.get_full_path())
        status, bound = outcome
    now = timezone.now()
    schools = scope.school_ids_for(user)
    urges = Urge.objects.select_related("school", "cycle", "created_by", "responded_by")
    if schools is not None:
        urges = urges.filter(school_id__in=schools)
    if cycle is not None:
        urges = urges.filter(cycle=cycle)
    urges = urges.annotate(
        waiting=Case(When(responded_at__isnull=True, then=0), default=1, output_field=IntegerField())
    ).order_by("waiting", "-created_at", "-id")
    page = Paginator(urges, PAGE_SIZE).get_page(request.GET.get("page"))
    can_urge = cycle is not None and cycle.status == CycleStatus.ACTIVE and _urgeable(user, cycle).exists()
    answerable = {urge.pk for urge in page if scope.has_role_over(user, urge.school_id, Role.SCHOOL)}
    context = {
        "cycles": cycles,
        "cycle": cycle,
        "page": page,
        "rows": [{"urge": urge, "state": urge_state(urge, now), "can_answer": urge.pk in answerable} for urge in page],
        "can_urge": can_urge,
        "urge_form": bound.get("urge") or (_urge_form(request, cycle) if can_urge else None),
        "respond_forms": bound.get("respond", {}),
    }
    return render(request, "web/urges.html", context, status=status)


def _post(request: HttpRequest, cycle: Cycle | None) -> tuple[int, dict[str, Any]] | None:
    """Do the posted action; None on success, else (status, bound forms to show again)."""
    user = request.user
    action = request.POST.get("action", "")
    if action == "urge":
        if cycle is None:
            raise Http404
        form = _urge_form(request, cycle, request.POST)
        if not scope.roles_of(user) & {Role.SUPERVISOR} and not user.is_superuser:
            messages.error(request, _("Only a supervisor can urge a school."))
            return 403, {}
        if not form.is_valid():
            messages.error(request, _("Please correct the form."))
            return 400, {"urge": form}
        data = form.cleaned_data
        try:
            urge_create(
                actor=user, cycle=cycle, school=data["school"], message=data["message"], respond_by=data["respond_by"]
            )
        except DomainError as exc:
            refused = refusal(exc)
            messages.error(request, refused.message)
            return refused.status, {"urge": form}
        messages.success(request, _("%(school)s has been urged.") % {"school": data["school"].name})
        return None
    if action == "respond":
        schools = scope.school_ids_for(user)
        urges = Urge.objects.all() if schools is None else Urge.objects.filter(school_id__in=schools)
        raw = request.POST.get("urge", "")
        urge = urges.filter(pk=int(raw)).first() if raw.isdigit() else None
        if urge is None:
            raise Http404
        if not scope.has_role_over(user, urge.school_id, Role.SCHOOL):
            messages.error(request, _("Only the school's own staff can answer an urge."))
            return 403, {}
        form = f.RespondForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Write an answer."))
            return 400, {"respond": {urge.pk: form}}
        try:
            urge_respond(actor=user, urge=urge, response=form.cleaned_data["response"])
        except DomainError as exc:
            refused = refusal(exc)
            messages.error(request, refused.message)
            return refused.status, {}
        messages.success(request, _("Your answer has been sent."))
        return None
    messages.error(request, _("Unknown action."))
    return 400, {}
