"""The overview's JSON, kept between requests while nothing it was built from has changed (PostgreSQL).

Building the 12,000-row document costs more than counting it (docs/benchmarks.md). A built document is
kept in the cache (settings.CACHES) under its cycle and scope, with a *token* read in the same statement
that built it, so both come from one snapshot. A later request reuses it only when one query finds the
same token and no deadline bucket between the two `now`s, so what it serves is exactly what it would
have built. The token covers everything the statement reads:

* the cycle's rollup clock: its id, time, early-warning rules and `generation` (bumped by every flush,
  advance and rebuild: the rows themselves), and no dirty school (while one is, nothing is cached or
  served: its tasks changed since its row was counted);
* the cycle's open flags (school and severity), its criteria (how many, their ids and scores), and the
  unit tree (ids, names, kinds and parents), each as an md5 of the rows in order;
* no edge of the cycle between the two `now`s (no deadline or early-warning moment passed): the
  time-dependent counts are the same.

The token's clock id comes from a sequence that never goes back, so a document is never taken for
another database state with the same counters. Settings that change what is counted (early warning) are
in the cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection

from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollups import rules_key

VERSION = 1

# One text, or NULL when the cycle's rows cannot be cached (no readable clock, or a dirty school).
_TOKEN = f"""(
    SELECT CASE WHEN k.id IS NULL
                  OR EXISTS (SELECT 1 FROM tracker_rollupdirty d WHERE d.round_kind = {RoundKind.CYCLE}
                             AND d.round_id = %s)
                THEN NULL
           ELSE concat_ws('|', k.id, EXTRACT(EPOCH FROM k.as_of), k.generation,
               (SELECT md5(COALESCE(string_agg(f.school_id || ':' || f.severity, ',' ORDER BY f.school_id), ''))
                FROM tracker_flag f WHERE f.cycle_id = %s AND f.resolved_at IS NULL),
               (SELECT md5(COALESCE(string_agg(c.id || ':' || c.max_score, ',' ORDER BY c.id), ''))
                FROM tracker_criterion c WHERE c.cycle_id = %s),
               (SELECT md5(string_agg(u.id || ':' || u.kind || ':' || COALESCE(u.parent_id, 0) || ':' || u.name,
                                      ',' ORDER BY u.id))
                FROM tracker_unit u))
           END
    FROM (SELECT 1) one
    LEFT JOIN tracker_rollupclock k ON k.round_kind = {RoundKind.CYCLE} AND k.round_id = %s AND k.rules = %s
)"""


def token_sql(cycle_id: int) -> tuple[str, list[Any]]:
    """A scalar subquery of the cycle's token, to select beside the document it describes."""
    return _TOKEN, [cycle_id, cycle_id, cycle_id, cycle_id, rules_key()]


def cache_key(*, cycle_id: int, unit_id: int | None, roots: Sequence[int]) -> str:
    scope = f"unit{unit_id}" if unit_id is not None else "roots" + ",".join(map(str, roots))
    return f"qinglian:overview:v{VERSION}:{rules_key()}:{cycle_id}:{scope}"


def cached(*, key: str, cycle_id: int, now: datetime) -> tuple[str, str] | None:
    """The (totals, rows) JSON kept under `key` if it is still exact as of `now`, else None."""
    kept = cache.get(key)
    if kept is None:
        return None
    token, built_at, totals_json, rows_json = kept
    sql, params = token_sql(cycle_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql}, EXISTS (SELECT 1 FROM tracker_rollupedge e WHERE e.round_kind = {RoundKind.CYCLE} "
            "AND e.round_id = %s AND e.at >= LEAST(%s, %s) AND e.at < GREATEST(%s, %s))",
            [*params, cycle_id, built_at, now, built_at, now],
        )
        current, passed = cursor.fetchone()
    if current is None or current != token or passed:
        return None
    return totals_json, rows_json


def keep(*, key: str, token: str | None, now: datetime, totals_json: str, rows_json: str) -> None:
    if token is not None:
        cache.set(key, (token, now, totals_json, rows_json), timeout=3600)
