"""The event log: append in the caller's transaction, hash-chained, dispatched after commit.

hash = sha256(prev_hash + canonical(event)). Writers lock the single chain-head row, so concurrent
transactions append one after another and the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from .dispatch import event_dispatch
from .models import Event, EventChainHead, EventDispatch
from .types import Actor, EventType

GENESIS_HASH = "0" * 64


class EventDataEncoder(DjangoJSONEncoder):
    """The one encoder of event data: every moment in UTC, ISO 8601 with `Z` and milliseconds
    (`2026-03-01T08:00:00.250Z`), whatever zone the caller's value was in, so one record never mixes
    `Z` with `+08:00`. Events written before this kept their text: the chain hashes what is stored."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            moment = o if timezone.is_aware(o) else timezone.make_aware(o, timezone.get_default_timezone())
            text = moment.astimezone(UTC).isoformat(timespec="milliseconds" if moment.microsecond else "seconds")
            return text.removesuffix("+00:00") + "Z"
        return super().default(o)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """What the JSON column gives back, so the hash at write time equals the hash at verify time."""
    return json.loads(json.dumps(data, cls=EventDataEncoder))


def canonical(event: Event) -> str:
    body = {
        "type": event.type,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "actor": event.actor_id,
        "cycle": event.cycle_id,
        "school": event.school_id,
        "task": event.task_id,
        "subject": [event.subject_type, str(event.subject_id)],
        "data": event.data,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(prev_hash: str, event: Event) -> str:
    return hashlib.sha256((prev_hash + canonical(event)).encode()).hexdigest()


_importing: ContextVar[bool] = ContextVar("events_importing", default=False)


@contextmanager
def events_imported() -> Iterator[None]:
    """Record events without side effects: history brought in from elsewhere (the demo's past year).

    The events join the chain as usual; nothing is dispatched for them, and the next sweep judges
    flags and plans reminders from the resulting state.
    """
    token = _importing.set(True)
    try:
        yield
    finally:
        _importing.reset(token)


def events_append(events: list[Event]) -> list[Event]:
    """Chain and insert unsaved events, in order, under the chain-head lock (the caller's transaction).

    The one writer of the chain: event_record appends one event, bulk writers (the sweep's flag
    judgements) many at a time.
    """
    if not events:
        return events
    with transaction.atomic():
        EventChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = EventChainHead.objects.select_for_update().get(pk=1)
        prev = head.last_hash
        for event in events:
            event.data = _normalise(event.data or {})
            event.prev_hash = prev
            event.hash = compute_hash(prev, event)
            prev = event.hash
        if len(events) == 1:
            events[0].save()  # keeps the primary key on every backend
        else:
            Event.objects.bulk_create(events, batch_size=1000)
        head.last_hash = prev
        head.count += len(events)
        head.save(update_fields=["last_hash", "count"])
    return events


def event_record(
    *,
    type: EventType,
    subject: models.Model,
    actor: Actor = None,
    cycle: models.Model | None = None,
    school: models.Model | None = None,
    task: models.Model | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    dispatch: bool = True,
) -> Event:
    """Append an event inside the caller's transaction; its side effects run after commit."""
    with transaction.atomic():
        (event,) = events_append(
            [
                Event(
                    type=type,
                    occurred_at=now or timezone.now(),
                    actor=actor if getattr(actor, "is_authenticated", False) else None,
                    cycle=cycle,
                    school=school,
                    task=task,
                    subject_type=subject._meta.model_name,
                    subject_id=str(subject.pk),
                    data=data or {},
                )
            ]
        )
        if dispatch and not _importing.get():
            # Wall-clock times: the relay's schedule must not follow a back-dated `now`.
            sent_at = timezone.now()
            EventDispatch.objects.create(
                event=event, created_at=sent_at, next_send_at=sent_at + settings.EVENT_RELAY_GRACE, sends=1
            )
            transaction.on_commit(lambda: event_dispatch(event_id=event.pk))
    return event


@dataclass
class ChainReport:
    ok: bool
    count: int
    broken_event_id: int | None = None
    reason: str = ""


def events_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order; report the first event whose link or content does not hold."""
    prev = GENESIS_HASH
    count = 0
    for event in _iter_events(batch_size):
        if event.prev_hash != prev:
            return ChainReport(False, count, event.pk, "prev_hash does not match the previous event's hash")
        expected = compute_hash(prev, event)
        if event.hash != expected:
            return ChainReport(False, count, event.pk, "hash does not match the event's content")
        prev = event.hash
        count += 1
    head = EventChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != prev or head.count != count):
        return ChainReport(False, count, None, "the chain ends before its recorded head: events were removed")
    return ChainReport(True, count)


def _iter_events(batch_size: int) -> Iterator[Event]:
    last_id = 0
    while True:
        batch = list(Event.objects.filter(pk__gt=last_id).order_by("pk")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].pk
