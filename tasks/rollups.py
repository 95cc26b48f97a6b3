from __future__ import annotations

from tracker.monitoring.rollups import rollups_flush

from .policy import job


@job(name="tracker.flush_rollups")
def flush_rollups() -> int:
    """After each sweep: recount the schools still marked dirty (idempotent: a second run finds none)."""
    return rollups_flush()
