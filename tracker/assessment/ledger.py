"""The deduction ledger of a task (CONTRACT section 7): one entry per deduction rule or late penalty
applied at approval, and one per rule or penalty an appeal withdrew, added or changed.

Written in the transaction of the approval or the appeal's decision; never edited. What a task's
score stands on at any moment is the ledger folded in order (`ledger_state`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet

from tracker.audit.types import Actor

from .fairness_models import LATE_PENALTY, Appeal, DeductionEntry, LedgerAction, LedgerSource
from .models import Criterion, Task


@dataclass(frozen=True)
class Rule:
    points: Decimal
    description: str


def criterion_rules(criterion: Criterion | None) -> dict[str, Rule]:
    """A criterion's deduction rules by code (none for a task without a criterion)."""
    if criterion is None:
        return {}
    return {
        rule["code"]: Rule(Decimal(str(rule["points"])), rule.get("description", ""))
        for rule in criterion.deduction_rules
    }


def deduction_ledger(task: Task | int) -> QuerySet[DeductionEntry]:
    """Every entry of a task's ledger, oldest first (the API's GET /tasks/{id}/deductions/)."""
    return DeductionEntry.objects.filter(task=task).select_related("actor").order_by("id")


def ledger_state(task: Task | int) -> dict[str, Decimal]:
    """What is applied now: code ("late_penalty" for the penalty) -> points, folded from the entries."""
    return ledger_fold(deduction_ledger(task).values_list("code", "points", "action"))


def ledger_fold(entries: Iterable[DeductionEntry | tuple[str, Decimal, str]]) -> dict[str, Decimal]:
    """ledger_state of entries already read, oldest first: entries or (code, points, action) triples."""
    state: dict[str, Decimal] = {}
    for entry in entries:
        code, points, action = (entry.code, entry.points, entry.action) if isinstance(entry, DeductionEntry) else entry
        if action == LedgerAction.WITHDRAWN:
            state.pop(code, None)
        else:
            state[code] = points
    return state


def _entries(
    task: Task,
    changes: Iterable[tuple[str, str, Decimal, str]],
    *,
    source: str,
    actor: Actor,
    now: datetime,
    reason: str,
    appeal: Appeal | None = None,
) -> list[DeductionEntry]:
    rows = [
        DeductionEntry(
            task=task,
            code=code,
            description=description,
            points=points,
            action=action,
            source=source,
            appeal=appeal,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            at=now,
            reason=reason,
        )
        for code, action, points, description in changes
    ]
    return DeductionEntry.objects.bulk_create(rows)


def ledger_approval_record(*, task: Task, actor: Actor, now: datetime, comment: str) -> list[DeductionEntry]:
    """The approval's entries: each chosen rule with its points, and the late penalty when there is one."""
    rules = criterion_rules(task.criterion)
    changes = [(code, LedgerAction.APPLIED, rules[code].points, rules[code].description) for code in task.deductions]
    if task.late_penalty:
        changes.append((LATE_PENALTY, LedgerAction.APPLIED, task.late_penalty, ""))
    return _entries(task, changes, source=LedgerSource.APPROVAL, actor=actor, now=now, reason=comment)


def ledger_appeal_record(
    *,
    task: Task,
    appeal: Appeal,
    before: dict[str, Decimal],
    after: dict[str, Decimal],
    actor: Actor,
    now: datetime,
    reason: str,
) -> list[DeductionEntry]:
    """An amending decision's entries: what it withdrew, added, or applied with other points."""
    rules = criterion_rules(task.criterion)

    def describe(code: str) -> str:
        return rules[code].description if code in rules else ""

    changes = [
        (code, LedgerAction.WITHDRAWN, points, describe(code)) for code, points in before.items() if code not in after
    ]
    for code, points in after.items():
        if code not in before:
            changes.append((code, LedgerAction.APPLIED, points, describe(code)))
        elif before[code] != points:
            changes.append((code, LedgerAction.CHANGED, points, describe(code)))
    return _entries(task, changes, source=LedgerSource.APPEAL, actor=actor, now=now, reason=reason, appeal=appeal)
