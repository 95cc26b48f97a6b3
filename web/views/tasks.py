"""/tasks/ (the task list) and /tasks/{id}/ (one task: read, and every action on it).

A write is judged as the API judges it: out of scope 404, wrong role 403, bad form 400, wrong state
409 (413, 415 for files). Each action calls the same service as the API, so it records the same event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import scope
from tracker.assessment.appeal_services import appeal_create
from tracker.assessment.evidence_services import evidence_add, evidence_delete
from tracker.assessment.extension_services import extension_request_create
from tracker.assessment.fairness_models import LATE_PENALTY, AppealStatus, ExtensionStatus
from tracker.assessment.ledger import criterion_rules, ledger_fold, ledger_state
from tracker.assessment.rules import appeal_window_closes_at, is_appeal_window_open, is_open, overdue_q
from tracker.assessment.task_record import TaskRecord, task_record
from tracker.assessment.task_services import (
    task_approve,
    task_extend,
    task_progress,
    task_return,
    task_start,
    task_submit,
)
from tracker.assessment.texts import moment_said
from tracker.assessment.transitions import REQUESTS, TRANSITIONS, TaskAction, TaskRequest, allowed_actions
from tracker.errors import DomainError
from tracker.models import DeductionEntry, Evidence, Role, Task, TaskKind, TaskStatus
from tracker.monitoring.rules import at_risk_q
from tracker.paging import CountingPaginator

from .. import forms as f
from ..access import chosen_cycle, is_authority, visible_cycles
from ..context_processors import unread_count_known, unread_count_subquery
from ..errors import refusal
from ..timing import timing

PAGE_SIZE = 50
RECTIFICATIONS_SHOWN = 100  # the rest through the campaigns' pages


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    cycles = visible_cycles(user)
    cycle = chosen_cycle(cycles, request.GET.get("cycle"))
    filters = f.TaskFilterForm(request.GET or None)
    status = filters.cleaned_data.get("status", "") if filters.is_valid() else ""
    now = timezone.now()
    tasks = Task.objects.none()
    if cycle is not None:
        tasks = (
            scope.tasks_visible(user)
            .filter(cycle=cycle)
            .select_related("criterion", "school")
            .annotate(late_first=Case(When(overdue_q(now), then=0), default=1, output_field=IntegerField()))
            .order_by("late_first", "due_at", "criterion__code", "school__name", "id")
        )
        if status == "overdue":
            tasks = tasks.filter(overdue_q(now))
        elif status == "at_risk":
            tasks = tasks.filter(at_risk_q(now))
        elif status:
            tasks = tasks.filter(status=status)
    page = CountingPaginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))  # counted in the page's statement
    rows = [{"task": task, **timing(task, now)} for task in page]
    # Beside the cycle's tasks, the open rectifications (integrity findings and cases): tasks like any.
    rectifications = (
        scope.tasks_visible(user)
        .filter(kind=TaskKind.RECTIFICATION)
        .exclude(status=TaskStatus.APPROVED)
        .select_related("school", "campaign")
        .annotate(late_first=Case(When(overdue_q(now), then=0), default=1, output_field=IntegerField()))
        .order_by("late_first", "due_at", "school__name", "id")
    )
    if status == "overdue":
        rectifications = rectifications.filter(overdue_q(now))
    elif status:
        rectifications = rectifications.filter(status=status)
    open_rectifications = [{"task": task, **timing(task, now)} for task in rectifications[:RECTIFICATIONS_SHOWN]]
    return render(
        request,
        "web/tasks/list.html",
        {
            "cycles": cycles,
            "cycle": cycle,
            "filters": filters,
            "status": status,
            "page": page,
            "rows": rows,
            "show_school": is_authority(user),
            "rectifications": open_rectifications,
        },
    )


# --- One task ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Action:
    role: str
    form: type[django_forms.Form] | None
    run: Callable[[Task, Any, dict], str]  # does the write; returns the success message


def _start(task: Task, actor, data: dict) -> str:
    task_start(task=task, actor=actor)
    return _("Task started.")


def _progress(task: Task, actor, data: dict) -> str:
    task_progress(task=task, actor=actor, progress=data["progress"], note=data["note"])
    return _("Progress saved.")


def _submit(task: Task, actor, data: dict) -> str:
    task_submit(task=task, actor=actor)
    return _("Submitted for review.")


def _approve(task: Task, actor, data: dict) -> str:
    done = task_approve(task=task, actor=actor, deductions=data["deductions"], comment=data["comment"])
    if done.score is None:  # a rectification: closed, no score
        return _("Approved: the rectification is closed.")
    return _("Approved. Score: %(score)s.") % {"score": done.score}


def _return(task: Task, actor, data: dict) -> str:
    task_return(task=task, actor=actor, reason=data["reason"], rework_due_at=data["rework_due_at"])
    return _("Returned to the school for rework.")


def _extend(task: Task, actor, data: dict) -> str:
    done = task_extend(task=task, actor=actor, due_at=data["due_at"], reason=data["reason"])
    return _("The deadline is now %(due)s.") % {"due": timezone.localtime(done.due_at).strftime("%Y-%m-%d %H:%M")}


def _upload(task: Task, actor, data: dict) -> str:
    upload = data["file"]
    item = evidence_add(task=task, actor=actor, file=upload, filename=upload.name or "", size=upload.size)
    return _("Uploaded %(name)s.") % {"name": item.filename}


def _request_extension(task: Task, actor, data: dict) -> str:
    extension_request_create(task=task, actor=actor, requested_due_at=data["requested_due_at"], reason=data["reason"])
    return _("Extension requested until %(due)s: the bureau will decide.") % {
        "due": moment_said(data["requested_due_at"])
    }


def _appeal(task: Task, actor, data: dict) -> str:
    appeal_create(task=task, actor=actor, reason=data["reason"], contested=list(data["contested"]))
    return _("Appeal sent: a supervisor other than the one who approved will decide it.")


def _delete_evidence(task: Task, actor, data: dict) -> str:
    item = Evidence.objects.filter(task=task, pk=data["evidence"]).first()
    if item is None:
        raise Http404
    evidence_delete(evidence=item, actor=actor)
    return _("Deleted %(name)s.") % {"name": item.filename}


# The role of each transition is the transitions table's; evidence is the school's.
ACTIONS: dict[str, Action] = {
    TaskAction.START: Action(TRANSITIONS[TaskAction.START].role, None, _start),
    TaskAction.PROGRESS: Action(TRANSITIONS[TaskAction.PROGRESS].role, f.ProgressForm, _progress),
    TaskAction.SUBMIT: Action(TRANSITIONS[TaskAction.SUBMIT].role, None, _submit),
    TaskAction.APPROVE: Action(TRANSITIONS[TaskAction.APPROVE].role, f.ApproveForm, _approve),
    TaskAction.RETURN: Action(TRANSITIONS[TaskAction.RETURN].role, f.ReturnForm, _return),
    TaskAction.EXTEND: Action(TRANSITIONS[TaskAction.EXTEND].role, f.ExtendForm, _extend),
    "upload": Action(Role.SCHOOL, f.UploadForm, _upload),
    "delete_evidence": Action(Role.SCHOOL, f.EvidenceDeleteForm, _delete_evidence),
    # A school's requests (CONTRACT section 7); their decisions are on /requests/.
    TaskRequest.EXTENSION: Action(REQUESTS[TaskRequest.EXTENSION].role, f.ExtensionRequestForm, _request_extension),
    TaskRequest.APPEAL: Action(REQUESTS[TaskRequest.APPEAL].role, f.AppealForm, _appeal),
}

ROLE_REFUSALS = {
    Role.SCHOOL: _("Only the school's own staff can do this."),
    Role.SUPERVISOR: _("Only a supervisor of this school's authority can do this."),
}


def _scoped_task(user, pk: int) -> Task:
    # The header's unread count comes with the task, in its statement (web.context_processors).
    tasks = Task.objects.select_related("criterion", "school", "cycle", "campaign")
    task = scope.task_visible(user, pk, tasks.annotate(caller_unread=unread_count_subquery(user.pk)))
    if task is None:
        raise Http404
    unread_count_known(user.pk, task.caller_unread)
    return task


@dataclass(frozen=True)
class Rectification:
    """What the task page shows where an assessment task shows its criterion: a rectification's own
    title, requirement and fixed rules (one file to submit, no score, no deductions, no late penalty)."""

    code: str
    title: str
    category: str
    requirement: str
    min_evidence: int
    max_score: int
    due_at: Any
    late_penalty_per_day: int = 0
    late_penalty_cap: int = 0
    deduction_rules: tuple = ()


def _subject(task: Task) -> Any:
    """The task's criterion, or what stands in for it on a rectification."""
    if task.criterion_id is not None:
        return task.criterion
    return Rectification(
        code="",
        title=task.title,
        category=_("Rectification"),
        requirement=task.requirement,
        min_evidence=task.min_evidence,
        max_score=0,
        due_at=task.due_at,
    )


def _applied(task: Task, ledger: list[DeductionEntry] | None = None) -> list[tuple[str, str]]:
    """What the deduction ledger (read now unless given) applies, as an appeal's choices: (code, what it says)."""
    if task.criterion_id is None:  # a rectification: no score, nothing to appeal
        return []
    rules = criterion_rules(task.criterion)
    choices = []
    state = ledger_state(task) if ledger is None else ledger_fold(ledger)
    for code, points in state.items():
        if code == LATE_PENALTY:
            choices.append((code, _("Late penalty (−%(points)s)") % {"points": points.normalize()}))
        else:
            description = rules[code].description if code in rules else ""
            choices.append((code, f"{code} {description} (−{points.normalize()})"))
    return choices


def _form_kwargs(form: type[django_forms.Form], task: Task) -> dict[str, Any]:
    if form is f.ApproveForm:
        return {"rules": task.rules or []}
    if form is f.AppealForm:
        return {"applied": _applied(task)}
    return {}


def _fairness(task: Task, *, record: TaskRecord, can_school: bool, now) -> dict[str, Any]:
    """The task's extension requests, appeals and deduction ledger, and what the school may ask now."""
    requests, appeals, ledger = record.requests, record.appeals, record.ledger
    applied = _applied(task, ledger) if task.reviewed_at else []
    window = is_appeal_window_open(status=task.status, reviewed_at=task.reviewed_at, now=now)
    return {
        "requests": requests,
        "appeals": appeals,
        "ledger": ledger,
        "can_request": can_school
        and task.status in REQUESTS[TaskRequest.EXTENSION].sources
        and not any(r.status == ExtensionStatus.PENDING for r in requests),
        "can_appeal": can_school
        and window
        and bool(applied)
        and not any(a.status == AppealStatus.PENDING for a in appeals),
        "appeal_until": appeal_window_closes_at(task.reviewed_at) if window else None,
    }


def _page(request: HttpRequest, task: Task, *, bound: dict[str, Any] | None = None, status: int = 200) -> HttpResponse:
    """The task page (or, for htmx, its main fragment), with any bound form kept to show its errors."""
    user = request.user
    now = timezone.now()
    subject = _subject(task)
    rules = list(subject.deduction_rules or [])
    roles = scope.roles_over(user, task.school_id)  # asked when the task was found: no query
    can_school = Role.SCHOOL in roles
    can_review = Role.SUPERVISOR in roles
    allowed = set(allowed_actions(task.status))
    record = task_record(task)  # the ledger, the evidence, the history, the requests and appeals: one statement
    ledger = record.ledger
    forms = {
        "progress": f.ProgressForm(initial={"progress": task.progress, "note": task.note}),
        "upload": f.UploadForm(),
        "approve": f.ApproveForm(rules=rules),
        "return": f.ReturnForm(),
        "extend": f.ExtendForm(),
        "request_extension": f.ExtensionRequestForm(),
        "appeal": f.AppealForm(applied=_applied(task, ledger)),
    }
    forms.update(bound or {})
    context = {
        "task": task,
        "criterion": subject,
        "is_rectification": task.criterion_id is None,
        "rules": rules,
        "evidence": record.evidence,
        "history": record.history,
        "can_school": can_school,
        "can_review": can_review,
        "allowed": allowed,
        "evidence_open": is_open(task.status),
        "forms": forms,
        "timing": timing(task, now),
        "fairness": _fairness(task, record=record, can_school=can_school, now=now),
    }
    template = "web/tasks/_task.html" if request.htmx else "web/tasks/detail.html"
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _scoped_task(request.user, pk)  # 404 outside scope
    if request.method == "GET":
        return _page(request, task)
    name = request.POST.get("action", "")
    action = ACTIONS.get(name)
    if action is None:
        messages.error(request, _("Unknown action."))
        return _page(request, task, status=400)
    if not scope.has_role_over(request.user, task.school_id, action.role):  # 403 wrong role
        messages.error(request, str(ROLE_REFUSALS[action.role]))
        return _page(request, task, status=403)
    data: dict[str, Any] = {}
    if action.form is not None:
        form = action.form(request.POST, request.FILES, **_form_kwargs(action.form, task))
        if not form.is_valid():  # 400 bad input
            messages.error(request, _("Please correct the form: %(fields)s.") % {"fields": fields_said(form)})
            return _page(request, task, bound={name: form}, status=400)
        data = form.cleaned_data
    try:
        done = action.run(task, request.user, data)  # 409 / 413 / 415 from the service
    except DomainError as exc:
        refused = refusal(exc)
        messages.error(request, refused.message)
        task.refresh_from_db()
        return _page(request, task, status=refused.status)
    messages.success(request, done)
    if request.htmx:
        return _page(request, _scoped_task(request.user, pk))
    return redirect("web:task", pk=pk)


def fields_said(form) -> str:
    """The labels of a form's fields in error, as a message names them."""
    return _(", ").join(str(form.fields[name].label or name) for name in form.errors if name in form.fields) or _(
        "the form"
    )
