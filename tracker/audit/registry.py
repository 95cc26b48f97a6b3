"""Which handlers run for which event type. Filled by the contexts at app ready, read by dispatch.

A context's `handlers` module decorates its functions with `@handles(EventType.X, ...)`;
`TrackerConfig.ready()` imports every such module once. The log itself imports no handler.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Event
from .types import EventType

Handler = Callable[[Event], None]
_HANDLERS: dict[EventType, list[Handler]] = {}


def handles(*types: EventType) -> Callable[[Handler], Handler]:
    """Register the decorated function to run (after commit, in the worker) for each of `types`."""
    for type_ in types:
        if not isinstance(type_, EventType):
            raise TypeError(f"handlers register for EventType members, not {type_!r}")

    def register(fn: Handler) -> Handler:
        for type_ in types:
            if fn not in _HANDLERS.setdefault(type_, []):
                _HANDLERS[type_].append(fn)
        return fn

    return register


def handlers_for(type_: str) -> list[Handler]:
    """The handlers registered for an event type, in registration order (none for an unknown type)."""
    try:
        return list(_HANDLERS.get(EventType(type_), []))
    except ValueError:
        return []
