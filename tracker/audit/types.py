"""The names of everything the event log records, and who may be recorded as acting."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

# Whoever performs a write: a signed-in user; None (or an anonymous user) when the system acts
# (the sweep, the demo seed, a management command). Events record None for both.
Actor: TypeAlias = AbstractBaseUser | AnonymousUser | None


class EventType(StrEnum):
    """Every event type; the value is what `Event.type` stores (and what the API shows)."""

    UNIT_CREATED = "unit.created"
    UNIT_UPDATED = "unit.updated"
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed"

    CYCLE_CREATED = "cycle.created"
    CYCLE_UPDATED = "cycle.updated"
    CYCLE_ACTIVATED = "cycle.activated"
    CYCLE_CLOSED = "cycle.closed"
    CRITERION_CREATED = "criterion.created"
    CRITERION_UPDATED = "criterion.updated"

    TASK_STARTED = "task.started"
    TASK_PROGRESSED = "task.progressed"
    TASK_SUBMITTED = "task.submitted"
    TASK_APPROVED = "task.approved"
    TASK_RETURNED = "task.returned"
    TASK_EXTENDED = "task.extended"
    # A criterion (or cycle) change moved the task's due time; `data.cause` is that change's event id.
    TASK_DUE_MOVED = "task.due_moved"
    # Deadline fairness (CONTRACT section 7): a school asks for time or contests a score; a supervisor
    # decides (`data.decision`). An approved extension also records the task's own task.extended.
    EXTENSION_REQUESTED = "extension.requested"
    EXTENSION_DECIDED = "extension.decided"
    APPEAL_FILED = "appeal.filed"
    APPEAL_DECIDED = "appeal.decided"
    EVIDENCE_UPLOADED = "evidence.uploaded"
    EVIDENCE_DELETED = "evidence.deleted"

    FLAG_OPENED = "flag.opened"
    FLAG_ESCALATED = "flag.escalated"
    FLAG_SEVERITY_CHANGED = "flag.severity_changed"
    FLAG_RESOLVED = "flag.resolved"
    URGE_CREATED = "urge.created"
    URGE_RESPONDED = "urge.responded"

    # Integrity programme (tracker.integrity)
    LIST_ITEM_CREATED = "list_item.created"
    LIST_ITEM_UPDATED = "list_item.updated"
    RISK_CREATED = "risk.created"
    RISK_UPDATED = "risk.updated"
    RISK_DELETED = "risk.deleted"
    REGISTER_SUBMITTED = "register.submitted"
    REGISTER_APPROVED = "register.approved"
    REGISTER_RETURNED = "register.returned"
    CAMPAIGN_CREATED = "campaign.created"
    CAMPAIGN_ACTIVATED = "campaign.activated"
    CAMPAIGN_CLOSED = "campaign.closed"
    CHECK_RECORDED = "check.recorded"
    # A rectification task was created (from a finding or a case); `data.source` names which.
    RECTIFICATION_CREATED = "rectification.created"

    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"

    # Inspections, cases and notices. A case's events name what changed, never its text (names).
    INSPECTION_CREATED = "inspection.created"
    INSPECTION_UPDATED = "inspection.updated"
    CASE_CREATED = "case.created"
    CASE_UPDATED = "case.updated"
    CASE_STATUS_CHANGED = "case.status_changed"
    CASE_PUBLISHED = "case.published"
    # The case ordered a rectification task for its school (`data.task`); the text stays on the task.
    CASE_RECTIFICATION_ORDERED = "case.rectification_ordered"
