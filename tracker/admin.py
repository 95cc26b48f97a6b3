"""Every model in the admin, searchable and filterable.

No path around the services (CONTRACT section 2): units and webhooks are added, changed (and webhooks
removed) through their services, which record the events; statuses, scores, due times, flags, evidence, urges,
reminders, notifications and the event log are read-only here. What an administrator may do to a
task or a cycle is an admin action that calls the same service as the API, so it records the same
events (approve, return, extend; activate, close).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext_lazy as _

from . import admin_accounts  # noqa: F401 - registers Django's user admin, recording every change
from . import models as m
from .admin_base import ReadOnlyAdmin, ServiceActionsAdmin, ServiceFormAdmin
from .assessment.cycle_services import cycle_activate, cycle_close
from .assessment.task_services import task_approve, task_extend, task_return
from .dates import end_of_day
from .notify.services import webhook_create, webhook_delete, webhook_update, webhook_url_check
from .org.services import unit_check, unit_create, unit_update
from .text import multi_line


@admin.register(m.Unit)
class UnitAdmin(ServiceFormAdmin):
    list_display = ["id", "name", "code", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    raw_id_fields = ["parent"]

    def service_check(self, obj, changes):
        unit_check(unit=obj, changes=changes)

    def create(self, request, data):
        return unit_create(actor=request.user, **{k: data.get(k) for k in ("name", "code", "kind", "parent")})

    def update(self, request, obj, changes):
        unit_update(actor=request.user, unit=obj, changes=changes)

    def has_delete_permission(self, request, obj=None):
        return False  # no service deletes a unit: it holds tasks, people and events


@admin.register(m.Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Who holds which role where: read-only (accounts are made by `account_create`, POST /accounts/)."""

    list_display = ["id", "user", "unit", "role", "language"]
    list_filter = ["role"]
    search_fields = ["user__username", "unit__name"]


@admin.register(m.Cycle)
class CycleAdmin(ServiceActionsAdmin):
    list_display = ["id", "name", "authority", "status", "starts_on", "ends_on"]
    list_filter = ["status"]
    search_fields = ["name"]
    actions = ["activate", "close"]

    @admin.action(description=_("Activate (create the tasks)"))
    def activate(self, request, queryset):
        self._each(request, queryset, _("Activated"), lambda c: cycle_activate(actor=request.user, cycle=c))

    @admin.action(description=_("Close"))
    def close(self, request, queryset):
        self._each(request, queryset, _("Closed"), lambda c: cycle_close(actor=request.user, cycle=c))


@admin.register(m.Criterion)
class CriterionAdmin(ReadOnlyAdmin):
    list_display = ["id", "cycle", "code", "title", "category", "due_at", "max_score", "min_evidence"]
    list_filter = ["category", "cycle"]
    search_fields = ["code", "title"]


class TaskActionForm(ActionForm):
    """What the task actions take, beside the action list: a reason (return, extend, approval comment)
    and, for an extension, the new due date (its end, in TIME_ZONE)."""

    reason = forms.CharField(required=False, label=_("reason or comment"), validators=[multi_line])
    due_on = forms.DateField(required=False, label=_("new due date"), widget=forms.DateInput(attrs={"type": "date"}))


@admin.register(m.Task)
class TaskAdmin(ServiceActionsAdmin):
    list_display = ["id", "school", "criterion", "status", "due_at", "progress", "score"]
    list_filter = ["status", "cycle", "has_own_due"]
    search_fields = ["school__name", "criterion__code", "criterion__title"]
    list_select_related = ["school", "criterion"]
    action_form = TaskActionForm
    actions = ["approve", "return_", "extend"]

    @staticmethod
    def _form(request) -> TaskActionForm:
        form = TaskActionForm(request.POST)
        form.is_valid()
        return form

    @admin.action(description=_("Approve without deductions (the score follows the rules)"))
    def approve(self, request, queryset):
        comment = self._form(request).cleaned_data.get("reason") or ""
        self._each(
            request,
            queryset,
            _("Approved"),
            lambda t: task_approve(task=t, actor=request.user, deductions=[], comment=comment),
        )

    @admin.action(description=_("Return for rework (with the reason given)"))
    def return_(self, request, queryset):
        reason = self._form(request).cleaned_data.get("reason") or ""
        self._each(request, queryset, _("Returned"), lambda t: task_return(task=t, actor=request.user, reason=reason))

    @admin.action(description=_("Extend to the due date given (with the reason given)"))
    def extend(self, request, queryset):
        data = self._form(request).cleaned_data
        if not data.get("due_on"):
            self.message_user(request, _("Give the new due date."), messages.ERROR)
            return
        due_at = end_of_day(data["due_on"])
        reason = data.get("reason") or ""
        self._each(
            request,
            queryset,
            _("Extended"),
            lambda t: task_extend(task=t, actor=request.user, due_at=due_at, reason=reason),
        )


@admin.register(m.Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "filename", "content_type", "size", "uploaded_at"]
    list_filter = ["content_type"]
    search_fields = ["filename", "sha256"]


@admin.register(m.Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "actor", "school", "subject_type", "subject_id"]
    list_filter = ["type"]
    search_fields = ["type", "subject_id", "hash"]


@admin.register(m.EventDispatch)
class EventDispatchAdmin(ReadOnlyAdmin):
    list_display = ["event", "created_at", "done_at", "attempts"]
    list_filter = [("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["event__type"]
    raw_id_fields = ["event"]


@admin.register(m.Flag)
class FlagAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "cycle",
        "school",
        "severity",
        "overdue_count",
        "max_days_overdue",
        "opened_at",
        "escalated_at",
        "resolved_at",
    ]
    list_filter = ["severity", ("resolved_at", admin.EmptyFieldListFilter), "cycle"]
    search_fields = ["school__name"]


@admin.register(m.Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "stage", "task", "flag", "urge", "due_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["task__school__name"]
    raw_id_fields = ["task", "flag", "urge"]


class SweepShardInline(admin.TabularInline):
    model = m.SweepShard
    fields = ["number", "school_lo", "school_hi", "attempts", "done_at", "report"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(m.SweepRun)
class SweepRunAdmin(ReadOnlyAdmin):
    """Beat's sweeps fanned out over shards of schools: which shards finished, how often each ran."""

    list_display = ["id", "now", "shard_count", "created_at", "closed_at"]
    inlines = [SweepShardInline]


@admin.register(m.Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "recipient", "kind", "title", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username"]
    raw_id_fields = ["recipient", "task", "school", "cycle", "reminder", "event"]


@admin.register(m.Urge)
class UrgeAdmin(ReadOnlyAdmin):
    list_display = ["id", "cycle", "school", "created_at", "respond_by", "responded_at"]
    list_filter = ["cycle", ("responded_at", admin.EmptyFieldListFilter)]
    search_fields = ["school__name", "message", "response"]


@admin.register(m.Webhook)
class WebhookAdmin(ServiceFormAdmin):
    list_display = ["id", "unit", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "unit__name"]
    raw_id_fields = ["unit"]

    def get_readonly_fields(self, request, obj=None):
        return ["unit"] if obj else []  # a webhook belongs to its unit for good

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"  # a URL typed without a scheme; Django 6's default
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def service_check(self, obj, changes):
        if "url" in changes:
            webhook_url_check(changes["url"])

    def create(self, request, data):
        return webhook_create(
            actor=request.user,
            unit=data["unit"],
            url=data["url"],
            secret=data.get("secret") or "",
            active=data["active"],
        )

    def update(self, request, obj, changes):
        webhook_update(actor=request.user, webhook=obj, changes=changes)

    def delete_model(self, request, obj):
        webhook_delete(actor=request.user, webhook=obj)

    def delete_queryset(self, request, queryset):
        for webhook in queryset.order_by("pk"):
            webhook_delete(actor=request.user, webhook=webhook)


@admin.register(m.WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "webhook",
        "message_id",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status"]
    search_fields = ["message_id", "webhook__url"]


@admin.register(m.DailySnapshot)
class DailySnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "cycle", "school", "date", "tasks", "approved", "overdue", "score"]
    list_filter = ["cycle", "date"]
    search_fields = ["school__name"]


# Deadline fairness: decided through the services (they record the events and move the deadlines and
# scores); shown here, never edited.
@admin.register(m.ExtensionRequest)
class ExtensionRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "status", "requested_due_at", "late_request", "created_at", "decided_at"]
    list_filter = ["status", "late_request"]
    search_fields = ["task__school__name", "reason", "comment"]


@admin.register(m.Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "status", "score_before", "score_after", "created_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["task__school__name", "reason", "comment"]


@admin.register(m.DeductionEntry)
class DeductionEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "task", "code", "points", "action", "source", "actor", "at"]
    list_filter = ["action", "source"]
    search_fields = ["task__school__name", "code", "reason"]


# --- Inspections, cases and notices ---------------------------------------------------------------
# Read-only: rounds and notices change only through their services. Cases are not here at all: they
# hold people's full names, and a read through the admin would escape the case access log.
@admin.register(m.Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["id", "authority", "kind", "held_on", "inspectors"]
    list_filter = ["kind", "held_on"]
    search_fields = ["summary", "targets__name"]


@admin.register(m.Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "authority", "type", "occurred_on", "published_at"]
    list_filter = ["type"]
    search_fields = ["summary", "disposition"]


@admin.register(m.CaseRead)
class CaseReadAdmin(ReadOnlyAdmin):
    list_display = ["id", "case", "reader", "read_at", "via"]
    list_filter = ["via"]
    search_fields = ["reader__username"]


# --- Integrity programme: read-only here, written only through tracker.integrity's services -------------
@admin.register(m.ListItem)
class ListItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "unit", "list", "code", "title", "category"]
    list_filter = ["list", "category"]
    search_fields = ["code", "title", "unit__name"]


@admin.register(m.Register)
class RegisterAdmin(ReadOnlyAdmin):
    list_display = ["id", "school", "year", "status", "submitted_at", "reviewed_at"]
    list_filter = ["status", "year"]
    search_fields = ["school__name"]


@admin.register(m.RiskPoint)
class RiskPointAdmin(ReadOnlyAdmin):
    list_display = ["id", "school", "item", "post", "level", "created_at"]
    list_filter = ["level", "post"]
    search_fields = ["school__name", "item__code", "description"]


@admin.register(m.Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ["id", "authority", "kind", "title", "due_at", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "authority__name"]


@admin.register(m.Check)
class CheckAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "school", "item", "result", "checked_at", "task"]
    list_filter = ["result"]
    search_fields = ["school__name", "item__code", "finding"]
