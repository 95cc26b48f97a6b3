"""/inspections/: the rounds of the person's authority (kind, date, inspectors, places), a form to record
one (inspectors and supervisors), and a year's statistics with their chart.

The same reads and writes as /api/v1/inspections/ and its stats: scope.inspections_visible, the
inspection_stats selector and the inspection_create service. Schools are refused (403), like the API's
list; a bad year is 400, a refused round the API's status.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.errors import DomainError
from tracker.inspections.inspection_services import TargetInput, inspection_create
from tracker.inspections.selectors import inspection_stats
from tracker.models import Role, Unit, UnitKind
from tracker.org.models import AUTHORITY_ROLES
from tracker.org.tree import descendant_ids

from .. import charts
from .. import forms as f
from ..access import require_authority
from ..errors import refusal

PAGE_SIZE = 30
WRITERS = (Role.INSPECTOR, Role.SUPERVISOR)


def home_authority(user) -> Unit | None:
    """The authority whose rounds the page shows: the person's first authority membership (the API's
    default), or for an account above every unit the first authority there is."""
    units = scope.units_visible(user).filter(kind=UnitKind.AUTHORITY)
    own = (
        user.memberships.filter(role__in=AUTHORITY_ROLES, unit__kind=UnitKind.AUTHORITY)
        .order_by("id")
        .values_list("unit_id", flat=True)
        .first()
    )
    if own is not None:
        return units.filter(pk=own).first()
    return units.order_by("id").first()


def _year(request: HttpRequest, years: list[int]) -> int:
    form = f.YearForm(request.GET)
    if not form.is_valid():
        raise BadRequest(_("The year must be a number between 2000 and 2099."))
    return form.cleaned_data["year"] or (years[0] if years else timezone.localdate().year)


def _can_write(user, authority: Unit | None) -> bool:
    return authority is not None and any(scope.has_role_over(user, authority, role) for role in WRITERS)


def _form(authority: Unit, data=None) -> f.InspectionForm:
    schools = Unit.objects.filter(kind=UnitKind.SCHOOL, id__in=descendant_ids([authority.pk])).order_by("name", "id")
    return f.InspectionForm(data, schools=schools)


@login_required
@require_http_methods(["GET", "POST"])
def inspection_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    require_authority(user)
    authority = home_authority(user)
    status, form = 200, None
    if request.method == "POST":
        status, form = _post(request, authority)
        if form is None and status == 200:
            return redirect(request.get_full_path())
    rounds = scope.inspections_visible(user)
    years = sorted({day.year for day in rounds.dates("held_on", "year")}, reverse=True)
    year = _year(request, years)
    shown = rounds.filter(held_on__year=year).prefetch_related("targets__school").order_by("-held_on", "-id")
    stats = None
    if authority is not None:
        stats = inspection_stats(authority_ids=descendant_ids([authority.pk]), authority_id=authority.pk, year=year)
    context = {
        "authority": authority,
        "year": year,
        "years": sorted({*years, timezone.localdate().year, year}, reverse=True),
        "page": Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page")),
        "stats": stats,
        "chart": charts.inspections(stats) if stats is not None else None,
        "form": form or (_form(authority) if _can_write(user, authority) else None),
    }
    return render(request, "web/inspections.html", context, status=status)


def _post(request: HttpRequest, authority: Unit | None) -> tuple[int, f.InspectionForm | None]:
    """Record the posted round: (200, None) when done, else the status and the form to show again."""
    user = request.user
    if not _can_write(user, authority):
        messages.error(request, _("Only an inspector or a supervisor can record a round."))
        return 403, None
    form = _form(authority, request.POST)
    if not form.is_valid():
        messages.error(request, _("Please correct the form."))
        return 400, form
    data = form.cleaned_data
    target = TargetInput(kind=data["target_kind"], name=data["target_name"].strip(), school=data["school"])
    try:
        inspection_create(
            actor=user,
            authority=authority,
            kind=data["kind"],
            held_on=data["held_on"],
            inspectors=data["inspectors"],
            targets=[target],
            summary=data["summary"],
        )
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        return refused.status, form
    messages.success(request, _("The round has been recorded."))
    return 200, None
