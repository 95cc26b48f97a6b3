"""The overview's JSON, kept between requests while nothing it was built from has changed (PostgreSQL).

Building the 12,000-row document costs more than counting it (docs/benchmarks.md). A built document is
kept in the cache (settings.CACHES) under its cycle and scope, with a *token* read in the same statement
that built it, so both come from one snapshot. A later request reuses it only when one query finds the
same token and no deadline bucket between the two `now`s, so what it serves is exactly what it would
have built. The token covers everything the statement reads:

* the cycle's rollup clock: its id, time, early-warning rules, `generation` (bumped by every flush,
  advance and rebuild: the rows themselves) and `reset_generation`; and no dirty school (while one is,
  no document is kept or served as it is: its tasks changed since its row was counted);
* the version of the cycle's open flags (which school, what severity: a number every change to them
  sets, tracker.monitoring.rollup_models.FlagVersion), its criteria (how many, their ids and scores) as
  an md5 of the rows in order, and the unit tree's versions (a number every write to the tree changes,
  and one that changes only with the flat overview's facts, tracker.org.models.UnitTreeVersion and
  UnitTreeFacts): O(1)
  however many schools, flags and units there are;
* no edge of the cycle between the two `now`s (no deadline or early-warning moment passed): the
  time-dependent counts are the same.

The token's clock id comes from a sequence that never goes back, so a document is never taken for
another database state with the same counters. Settings that change what is counted (early warning) are
in the cache key, and so is the caller's scope: a document is only ever served to the scope it was built for.
The parts a patch needs are kept once per cycle (for every school under its authority) and every scope is
cut from them (tracker.reporting.overview_parts, the scope's schools from tracker.reporting.overview_tree).
They are stored in the database too (models.OverviewParts): a cache emptied or restarted costs reading
them back and patching them, not a full build.

When the token no longer matches, the flat document is patched rather than built again
(tracker.reporting.overview_patch) if its *frame* still holds: the same clock and criteria, and no row
reset since (`Token.patchable_from`); a change of the unit tree is patched too.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, Value

from tracker.monitoring.rollup_models import RoundKind
from tracker.monitoring.rollups import rules_key

from .after_response import after_response
from .models import OverviewParts

VERSION = 5  # bump whenever what is kept (document, parts) changes shape
TIMEOUT = 3600  # a scope's document (cut again from the parts when gone); parts are kept until replaced
PART_SETS = 4  # the cycles whose parts are kept (the least recently kept set aside first)
PARTS_TIMEOUT = 7 * 24 * 3600  # parts unused for a week go (a set the list lost in a race among them)
STORED_PART_SETS = 16  # the cycles whose parts the database keeps (models.OverviewParts)

# Two columns: the token (NULL when the cycle's rows cannot be read: no clock under these rules, or no
# tree version), and whether a school is dirty.
_STATE = f"""(
    SELECT CASE WHEN k.id IS NULL OR v.version IS NULL OR f.version IS NULL THEN NULL
           ELSE concat_ws('|', k.id, EXTRACT(EPOCH FROM k.as_of), k.generation, k.reset_generation,
               COALESCE((SELECT f.version FROM tracker_flagversion f WHERE f.cycle_id = %s), 0),
               (SELECT md5(COALESCE(string_agg(c.id || ':' || c.max_score, ',' ORDER BY c.id), ''))
                FROM tracker_criterion c WHERE c.cycle_id = %s),
               v.version, f.version)
           END
    FROM (SELECT 1) one
    LEFT JOIN tracker_rollupclock k ON k.round_kind = {RoundKind.CYCLE} AND k.round_id = %s AND k.rules = %s
    LEFT JOIN tracker_unittreeversion v ON v.id = 1
    LEFT JOIN tracker_unittreefacts f ON f.id = 1
), EXISTS (SELECT 1 FROM tracker_rollupdirty d WHERE d.round_kind = {RoundKind.CYCLE} AND d.round_id = %s)"""


@dataclass(frozen=True)
class Token:
    """A token's parts: clock id, time, generation, reset generation, flags, criteria, tree version and
    tree facts version."""

    text: str

    @property
    def _parts(self) -> list[str]:
        return self.text.split("|")

    @property
    def generation(self) -> int:
        return int(self._parts[2])

    @property
    def flags(self) -> str:
        return self._parts[4]

    @property
    def tree_facts(self) -> str:
        """The version of what the flat overview takes from the unit tree (UnitTreeFacts)."""
        return self._parts[7]

    def frame(self) -> tuple[str, ...]:
        """What must not change for kept parts to be patched: the clock and the criteria (a change of the
        unit tree is patched too, tracker.reporting.overview_patch and overview_tree)."""
        parts = self._parts
        return parts[0], parts[5]

    def patchable_from(self, base: Token) -> bool:
        """Whether the rows that changed since `base` are all stamped after its generation."""
        return self.frame() == base.frame() and int(self._parts[3]) <= base.generation


def state_sql(cycle_id: int) -> tuple[str, list[Any]]:
    """Two columns (the token, and whether a school is dirty), to select beside what they describe."""
    return _STATE, [cycle_id, cycle_id, cycle_id, rules_key(), cycle_id]


def cache_key(*, cycle_id: int, unit_id: int | None, roots: Sequence[int]) -> str:
    scope = f"unit{unit_id}" if unit_id is not None else "roots" + ",".join(map(str, roots))
    return f"qinglian:overview:v{VERSION}:{rules_key()}:{cycle_id}:{scope}"


@dataclass(frozen=True)
class Check:
    """A kept document still exact as of `now` (`kept`), or else the cycle's token now (None: not readable)."""

    kept: tuple[str, bytes] | None = None  # totals JSON, rows JSON in UTF-8
    token: Token | None = None
    dirty: bool = False


def cached(*, key: str, cycle_id: int, now: datetime, parts_key: str | None = None) -> Check:
    """The (totals, rows) JSON kept under `key` if it is still exact as of `now` (the rows in UTF-8: a
    response sends them as they are); else the current token, read only when there is something kept to
    patch (a document under `key`, or parts under `parts_key`: the cycle's, which every scope is cut from)."""
    meta = cache.get(f"{key}:meta")
    if meta is None and (parts_key is None or not _parts_exist(parts_key)):
        return Check()
    token, built_at = meta or ("", now)
    sql, params = state_sql(cycle_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql}, EXISTS (SELECT 1 FROM tracker_rollupedge e WHERE e.round_kind = {RoundKind.CYCLE} "
            "AND e.round_id = %s AND e.at >= LEAST(%s, %s) AND e.at < GREATEST(%s, %s))",
            [*params, cycle_id, built_at, now, built_at, now],
        )
        current, dirty, passed = cursor.fetchone()
    if current is None:
        return Check()
    if current == token and not dirty and not passed:
        doc = _shared(f"{key}:doc", (token, built_at))
        if doc is not None:
            return Check(kept=(doc[2], doc[3]))
    return Check(token=Token(current), dirty=dirty)


def keep(*, key: str, token: str | None, dirty: bool, now: datetime, totals_json: str, rows_json: bytes) -> None:
    """Keep a document built (or patched) as of `now` in the snapshot `token` was read from."""
    if token is not None and not dirty:
        _share(f"{key}:doc", f"{key}:meta", (token, now, totals_json, rows_json))


def parts(key: str) -> Any:
    """The parts kept to patch the document under `key` (tracker.reporting.overview_patch), or None: from this
    process, else the cache, else the database (put back in the cache once the response is sent).
    Shared with this process's other requests: never change them in place."""
    meta = cache.get(f"{key}:parts:meta")
    value = _shared(f"{key}:parts", meta) if meta is not None else None
    return value if value is not None else _stored(key, share=meta is None)


def _parts_exist(key: str) -> bool:
    return cache.get(f"{key}:parts:meta") is not None or OverviewParts.objects.filter(key=key).exists()


def _stored(key: str, *, share: bool) -> Any:
    """The parts stored in the database under `key` (this process's copy when it holds the same), or None;
    put back in the cache after the response if `share` (the cache names none: else it may name newer ones)."""
    with _local_lock:
        held = _local.get(f"{key}:parts")
    token, at = held[:2] if held is not None else ("", None)
    row = (
        OverviewParts.objects.filter(key=key)
        .annotate(same=Q(token=token, kept_at=at) if at is not None else Value(False))
        .values_list("same", "value", "cycle_id")
        .first()
    )
    if row is None:
        return None
    same, blob, cycle_id = row
    if same:
        value = held
    else:
        value = pickle.loads(zlib.decompress(blob))  # written by _store below, never from a request
        _hold(f"{key}:parts", value)
    if share:
        after_response(lambda: keep_parts(key, value, cycle_id=cycle_id, store=False))
    return value


def _store(key: str, value: tuple, cycle_id: int) -> None:
    """Store the parts in the database (one row per key), and only the STORED_PART_SETS most recently kept."""
    blob = zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL), 1)
    row = OverviewParts(key=key, cycle_id=cycle_id, token=value[0], kept_at=value[1], value=blob)
    OverviewParts.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["key"], update_fields=["cycle", "token", "kept_at", "value"]
    )
    old = OverviewParts.objects.order_by("-kept_at", "-pk").values_list("pk", flat=True)[STORED_PART_SETS:]
    OverviewParts.objects.filter(pk__in=list(old)).delete()


_PARTS_KEPT = f"qinglian:overview:v{VERSION}:parts-kept"


def keep_parts(key: str, value: tuple, *, cycle_id: int, store: bool = True) -> None:
    """`value` starts with (token, now) of the snapshot it was read from. Kept while its token holds (no
    hour's deadline: PARTS_TIMEOUT), one set per cycle: the cache lists the (key, cycle) kept, and the
    least recently kept beyond PART_SETS are deleted. Stored in the database too (`store`), unless that is
    where they were read from."""
    _share(f"{key}:parts", f"{key}:parts:meta", value, timeout=PARTS_TIMEOUT)
    kept = [(name, cycle) for name, cycle in cache.get(_PARTS_KEPT) or [] if name != key] + [(key, cycle_id)]
    for name, _ in kept[:-PART_SETS]:
        cache.delete_many([f"{name}:parts", f"{name}:parts:meta"])
    cache.set(_PARTS_KEPT, kept[-PART_SETS:], timeout=PARTS_TIMEOUT)
    if store:
        _store(key, value, cycle_id)


_SCOPES_READ = f"qinglian:overview:v{VERSION}:scopes-read"
SCOPES_WARMED = 32  # per cycle: the scopes below its authority most recently kept, warmed after a unit event


def scope_kept(cycle_id: int, roots: Sequence[int]) -> None:
    """Note that a document was kept for a scope below the cycle's authority (read by someone: warmed with the
    parts after a unit or criterion change, tracker.reporting.handlers). Lossy: at worst one goes unwarmed."""
    name, scope = f"{_SCOPES_READ}:{cycle_id}", tuple(roots)
    kept = [other for other in cache.get(name) or [] if other != scope] + [scope]
    cache.set(name, kept[-SCOPES_WARMED:], timeout=PARTS_TIMEOUT)


def scopes_kept(cycle_id: int) -> list[tuple[int, ...]]:
    return list(cache.get(f"{_SCOPES_READ}:{cycle_id}") or [])


def cycles_with_parts() -> list[int]:
    """The cycles whose parts are kept (tracker.reporting.handlers warms them after a change): listed by the
    cache, or the PART_SETS most recently stored in the database."""
    stored = OverviewParts.objects.order_by("-kept_at", "-pk").values_list("cycle_id", flat=True)[:PART_SETS]
    return sorted({cycle for _, cycle in cache.get(_PARTS_KEPT) or []} | set(stored))


# Two levels: the shared cache says which (token, now) is current under a name, in a small entry; the
# value itself (several MB for 12,000 schools) is also held by this process for its next requests, so a
# request that finds it here skips reading and unpickling it. A value is the same for the same name,
# token and `now` whoever built it, so whichever process holds one may serve it.
LOCAL_ENTRIES = 8
_local: OrderedDict[str, tuple] = OrderedDict()
_local_lock = threading.Lock()


def _shared(name: str, meta: tuple) -> Any:
    """The value kept under `name` for `meta` = (token, now): from this process if it holds it."""
    with _local_lock:
        held = _local.get(name)
        if held is not None and held[:2] == meta:
            _local.move_to_end(name)
            return held
    value = cache.get(name)
    if value is None or value[:2] != meta:  # gone, or another process's newer value
        return None
    _hold(name, value)
    return value


def _share(name: str, meta_name: str, value: tuple, timeout: int | None = TIMEOUT) -> None:
    cache.set(name, value, timeout=timeout)
    cache.set(meta_name, value[:2], timeout=timeout)
    _hold(name, value)


def _hold(name: str, value: tuple) -> None:
    with _local_lock:
        _local[name] = value
        _local.move_to_end(name)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)
