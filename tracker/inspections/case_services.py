"""Writes of cases and their publication, and the log of who read a case.

Privacy: events about a case carry what changed, never the text of a case (summary, persons,
disposition): the event log is immutable and read by more people than the case is. The notice is
written from redacted text only, and checked to hold none of the case's full names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tracker.audit.events import event_record
from tracker.audit.types import Actor, EventType
from tracker.errors import AlreadyPublished, CasePublished, InvalidTransition, ValidationFailed
from tracker.org.models import Unit
from tracker.org.tree import descendant_ids
from tracker.updates import model_update

from .checks import actor_or_none, authority_check, not_in_future, school_under
from .models import Case, CaseRead, CaseStatus, Inspection, Notice
from .redaction import MASK, name_clean, name_redact, names_found, text_redact
from .transitions import CASE_TRANSITIONS, next_statuses

MAX_PERSONS = 50
NAME_MAX_LENGTH = 50
CASE_UPDATABLE = ("type", "occurred_on", "summary", "persons", "disposition", "school", "inspection")


# --- Cases ------------------------------------------------------------------------------------------
def persons_clean(persons: Iterable[str]) -> list[str]:
    """Full names, cleaned and de-duplicated in order; refuses what cannot be redacted safely."""
    out: list[str] = []
    for raw in persons:
        name = name_clean(str(raw))
        if len(name) < 2 or len(name) > NAME_MAX_LENGTH:
            raise ValidationFailed(
                f"a person's full name has 2 to {NAME_MAX_LENGTH} characters: {len(name)} given", field="persons"
            )
        if MASK in name or any(not c.isprintable() for c in name):
            raise ValidationFailed(f"give the person's full name (no {MASK}, no control characters)", field="persons")
        if name not in out:
            out.append(name)
    if len(out) > MAX_PERSONS:
        raise ValidationFailed(f"at most {MAX_PERSONS} persons", field="persons")
    return out


def _case_refs_check(case: Case) -> None:
    school_under(case.authority_id, case.school, "school")
    if case.inspection is not None and case.inspection.authority_id not in descendant_ids([case.authority_id]):
        raise ValidationFailed("the inspection is not one of the authority's rounds", field="inspection")


# Fields whose values may be written to the event log; the others (the case's text) are only named.
_PUBLIC_FIELDS = {"type", "occurred_on", "school", "inspection"}


def _event_value(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def case_event_record(case: Case, *, type: EventType, actor: Actor, now: datetime, data: dict[str, Any]) -> None:
    # Not filed under the school (Event.school stays empty, the school id is in `data`): whatever lists
    # a school's events must never tell it that a case about it exists. The authority's staff find
    # these events through their `authority` (tracker.scope.events_visible).
    event_record(type=type, subject=case, actor=actor, now=now, data={"authority": case.authority_id, **data})


@transaction.atomic
def case_create(
    *,
    actor: Actor,
    authority: Unit,
    type: str,
    occurred_on: date,
    summary: str,
    persons: Iterable[str] = (),
    inspection: Inspection | None = None,
    school: Unit | None = None,
    disposition: str = "",
    now: datetime | None = None,
) -> Case:
    now = now or timezone.now()
    authority_check(authority)
    not_in_future(occurred_on, "occurred_on", now)
    if not summary.strip():
        raise ValidationFailed("a case needs a summary", field="summary")
    case = Case(
        authority=authority,
        inspection=inspection,
        school=school,
        type=type,
        occurred_on=occurred_on,
        summary=summary,
        persons=persons_clean(persons),
        disposition=disposition,
        status=CaseStatus.REPORTED,
        created_by=actor_or_none(actor),
        created_at=now,
        updated_at=now,
    )
    _case_refs_check(case)
    case.save()
    case_event_record(
        case,
        type=EventType.CASE_CREATED,
        actor=actor,
        now=now,
        data={
            "type": type,
            "occurred_on": occurred_on,
            "school": case.school_id,
            "inspection": case.inspection_id,
            "persons": len(case.persons),
        },
    )
    return case


def _status_change(case: Case, target: str) -> None:
    if target == case.status:
        return
    if target not in CASE_TRANSITIONS.get(case.status, frozenset()):
        raise InvalidTransition(
            f"a {case.status} case cannot become {target}",
            status=case.status,
            allowed=next_statuses(case.status),
        )


@transaction.atomic
def case_update(*, actor: Actor, case: Case, changes: dict[str, Any], now: datetime | None = None) -> Case:
    """Change a case's facts and/or move its status one step (reported -> investigating -> concluded).

    Judged in the contract's order: a bad value is refused (400) before a wrong state (409). A
    concluded case needs a disposition; a published case is frozen."""
    now = now or timezone.now()
    case = Case.objects.select_for_update(of=("self",)).select_related("inspection", "school").get(pk=case.pk)
    changes = dict(changes)
    target = changes.pop("status", case.status)
    if "persons" in changes:
        changes["persons"] = persons_clean(changes["persons"])
    if "occurred_on" in changes:
        not_in_future(changes["occurred_on"], "occurred_on", now)
    if "summary" in changes and not changes["summary"].strip():
        raise ValidationFailed("a case needs a summary", field="summary")
    changed = model_update(instance=case, fields=CASE_UPDATABLE, data=changes, save=False)
    _case_refs_check(case)
    if target == CaseStatus.CONCLUDED and not case.disposition.strip():
        raise ValidationFailed("a concluded case needs its disposition", field="disposition")
    if Notice.objects.filter(case_id=case.pk).exists() and (changed or target != case.status):
        raise CasePublished("this case is published: its notice is final, the case cannot change", status=case.status)
    _status_change(case, target)
    if not changed and target == case.status:
        return case
    fields = list(changed) + ["updated_at"]
    if changed:
        case_event_record(
            case,
            type=EventType.CASE_UPDATED,
            actor=actor,
            now=now,
            data={
                "changed": {f: _event_value(v) for f, v in changed.items() if f in _PUBLIC_FIELDS},
                "changed_private": sorted(f for f in changed if f not in _PUBLIC_FIELDS),
            },
        )
    if target != case.status:
        previous, case.status = case.status, target
        fields.append("status")
        if target == CaseStatus.CONCLUDED:
            case.concluded_at = now
            fields.append("concluded_at")
        case_event_record(
            case, type=EventType.CASE_STATUS_CHANGED, actor=actor, now=now, data={"from": previous, "to": target}
        )
    case.updated_at = now
    case.save(update_fields=fields)
    return case


def notice_fields(case: Case) -> dict[str, Any]:
    """What a notice of this case says: the case's facts with every person's name redacted."""
    names = case.persons
    return {
        "type": case.type,
        "occurred_on": case.occurred_on,
        "persons": [name_redact(n) for n in names],
        "summary": text_redact(case.summary, names),
        "disposition": text_redact(case.disposition, names),
    }


@transaction.atomic
def case_publish(*, actor: Actor, case: Case, now: datetime | None = None) -> Notice:
    """Publish a concluded case as a notice to every account under its authority (after commit)."""
    now = now or timezone.now()
    case = Case.objects.select_for_update().get(pk=case.pk)
    existing = Notice.objects.filter(case_id=case.pk).values_list("pk", flat=True).first()
    if existing is not None:
        raise AlreadyPublished("this case is already published", notice=existing)
    if case.status != CaseStatus.CONCLUDED:
        allowed = next_statuses(case.status)
        raise InvalidTransition(
            f"only a concluded case can be published (this one is {case.status})", status=case.status, allowed=allowed
        )
    fields = notice_fields(case)
    text = "\n".join([fields["summary"], fields["disposition"], *fields["persons"]])
    if names_found(text, case.persons):
        # Cannot happen by construction; refuse rather than publish a name.
        raise ValidationFailed("the notice would still name a person; edit the case's text", field="summary")
    notice = Notice.objects.create(
        case=case,
        authority_id=case.authority_id,
        published_at=now,
        published_by=actor_or_none(actor),
        **fields,
    )
    case_event_record(
        case, type=EventType.CASE_PUBLISHED, actor=actor, now=now, data={"notice": notice.pk, "type": case.type}
    )
    return notice


def case_reads_record(*, reader: Actor, cases: Iterable[Case | int], via: str, now: datetime | None = None) -> int:
    """Log that `reader` read these cases (one row per case); returns how many rows were written."""
    now = now or timezone.now()
    ids = list(dict.fromkeys(c if isinstance(c, int) else c.pk for c in cases))
    if not ids or not getattr(reader, "is_authenticated", False):
        return 0
    CaseRead.objects.bulk_create([CaseRead(case_id=pk, reader=reader, read_at=now, via=via) for pk in ids])
    return len(ids)
