"""Everything one task's page lists about it, read in one statement: its deduction ledger, its evidence,
its history, its extension requests and its appeals (issue 14: a task in at most 5 queries)."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.audit.models import Event
from tracker.audit.selectors import task_history
from tracker.sql import read_together

from .fairness_models import Appeal, DeductionEntry, ExtensionRequest
from .ledger import deduction_ledger
from .models import Evidence, Task


@dataclass(frozen=True)
class TaskRecord:
    ledger: list[DeductionEntry]  # oldest first, with their actors
    evidence: list[Evidence]  # in the order uploaded
    history: list[Event]  # oldest first, with their actors
    requests: list[ExtensionRequest]  # in the order made, with who decided
    appeals: list[Appeal]  # in the order made, with who decided


def task_record(task: Task) -> TaskRecord:
    """The same rows as deduction_ledger, task_history and the task's own evidence, extension requests and
    appeals, each in its order (tracker.sql.read_together)."""
    ledger, evidence, history, requests, appeals = read_together(
        [
            deduction_ledger(task),
            Evidence.objects.filter(task=task).order_by("uploaded_at", "id"),
            task_history(task),
            ExtensionRequest.objects.filter(task=task).select_related("decided_by").order_by("created_at", "id"),
            Appeal.objects.filter(task=task).select_related("decided_by").order_by("created_at", "id"),
        ]
    )
    return TaskRecord(ledger=ledger, evidence=evidence, history=history, requests=requests, appeals=appeals)
