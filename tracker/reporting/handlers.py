"""The reporting context's event handlers: after a change that the cycle's overview parts cannot be
patched across without reading much (a unit added, moved or renamed: the tree's facts; a criterion or a
cycle's settings: a full build), make them ready again once the change has committed, in the worker,
so that the next reader's request patches or cuts them instead of doing that work itself. A cycle just
activated has its parts built the same way, so that its first reader does not build them.

Only the cycles whose parts are kept are warmed (at most overview_cache.PART_SETS): reading the
authority's overview patches the parts (keeping them again when the tree's facts changed) or builds
them; then the scopes below it whose documents were kept lately (overview_cache.scope_kept, at most
SCOPES_WARMED per cycle) are cut from them and kept, so that their readers too find their document kept.
Registered at app ready (tracker.apps); idempotent, and safe to lose: a request that finds nothing
patchable builds in full, exactly, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from tracker.assessment.models import Cycle
from tracker.audit.models import Event
from tracker.audit.registry import handles
from tracker.audit.types import EventType

from . import overview_cache
from .overview import overview_schools

logger = logging.getLogger(__name__)


def overviews_warm(also: Sequence[int] = ()) -> None:
    """Read the authority's overview of every cycle whose parts are kept, and of the cycles `also` (patched,
    or built in full). A failure is logged: the event is handled, and a later request builds in full what
    was not warmed. Parts are kept on PostgreSQL only."""
    if connection.vendor != "postgresql":
        return
    try:
        cycles = {*overview_cache.cycles_with_parts(), *also}
        for cycle in Cycle.objects.filter(pk__in=cycles).order_by("pk"):
            now = timezone.now()
            overview_schools(cycle=cycle, roots=[cycle.authority_id], now=now)
            for roots in overview_cache.scopes_kept(cycle.pk):  # then cut to each scope read lately, and kept
                overview_schools(cycle=cycle, roots=roots, now=now)
    except Exception:
        logger.exception("warming the overviews failed")


@handles(
    EventType.UNIT_CREATED,
    EventType.UNIT_UPDATED,
    EventType.CRITERION_CREATED,
    EventType.CRITERION_UPDATED,
    EventType.CYCLE_UPDATED,
)
def warm_overviews(event: Event) -> None:
    # After the event's transaction (and the other handlers' rollup flush in it) has committed.
    transaction.on_commit(overviews_warm)


@handles(EventType.CYCLE_ACTIVATED)
def warm_activated(event: Event) -> None:
    # A new cycle's parts built by the worker, not by its first reader's request (a full build).
    transaction.on_commit(partial(overviews_warm, also=[int(event.subject_id)]))
