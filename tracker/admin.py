"""Every model in the admin, searchable and filterable. The event log is read-only here."""

from __future__ import annotations

from django.contrib import admin

from . import models as m


@admin.register(m.Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "code", "kind", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    raw_id_fields = ["parent"]


@admin.register(m.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "unit", "role", "language"]
    list_filter = ["role"]
    search_fields = ["user__username", "unit__name"]
    raw_id_fields = ["user", "unit"]


@admin.register(m.Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "authority", "status", "starts_on", "ends_on"]
    list_filter = ["status"]
    search_fields = ["name"]


@admin.register(m.Criterion)
class CriterionAdmin(admin.ModelAdmin):
    list_display = ["id", "cycle", "code", "title", "category", "due_at", "max_score", "min_evidence"]
    list_filter = ["category", "cycle"]
    search_fields = ["code", "title"]


@admin.register(m.Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "school", "criterion", "status", "due_at", "progress", "score"]
    list_filter = ["status", "cycle", "has_own_due"]
    search_fields = ["school__name", "criterion__code", "criterion__title"]
    raw_id_fields = ["school", "criterion", "cycle", "reviewed_by"]
    list_select_related = ["school", "criterion"]
    # A score changes by approval or an appeal's decision only (they keep the deduction ledger); the
    # original deadline by criterion edits, the extension count by extensions: shown, never edited here.
    readonly_fields = ["score", "deductions", "late_penalty", "original_due_at", "due_set_at", "extensions"]


@admin.register(m.Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "filename", "content_type", "size", "uploaded_at"]
    list_filter = ["content_type"]
    search_fields = ["filename", "sha256"]
    raw_id_fields = ["task", "uploaded_by"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "occurred_at", "actor", "school", "subject_type", "subject_id"]
    list_filter = ["type"]
    search_fields = ["type", "subject_id", "hash"]


@admin.register(m.EventDispatch)
class EventDispatchAdmin(admin.ModelAdmin):
    list_display = ["event", "created_at", "done_at", "attempts"]
    list_filter = [("done_at", admin.EmptyFieldListFilter)]
    search_fields = ["event__type"]
    raw_id_fields = ["event"]


@admin.register(m.Flag)
class FlagAdmin(admin.ModelAdmin):
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
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "stage", "task", "flag", "urge", "due_at", "created_at"]
    list_filter = ["kind"]
    search_fields = ["task__school__name"]
    raw_id_fields = ["task", "flag", "urge"]


@admin.register(m.Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "title", "created_at", "read_at", "emailed_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username"]
    raw_id_fields = ["recipient", "task", "school", "cycle", "reminder", "event"]


@admin.register(m.Urge)
class UrgeAdmin(admin.ModelAdmin):
    list_display = ["id", "cycle", "school", "created_at", "respond_by", "responded_at"]
    list_filter = ["cycle", ("responded_at", admin.EmptyFieldListFilter)]
    search_fields = ["school__name", "message", "response"]


@admin.register(m.Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["id", "unit", "url", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "unit__name"]


@admin.register(m.WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
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
class DailySnapshotAdmin(admin.ModelAdmin):
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
