"""Dashboard overviews: one row per school, or one per child unit with its schools rolled up.

Everything is computed in the database, in a number of queries that does not depend on how many
schools or tasks there are:

* the per-school counts are one ``GROUP BY`` over the cycle's tasks with conditional aggregates
  (``COUNT(id) FILTER (WHERE ...)``), built with the ORM so that "overdue" is the one definition in
  ``tracker.assessment.rules.overdue_q``;
* the schools under a unit come from the one ``WITH RECURSIVE`` walk of the unit tree
  (``tracker.org.tree.subtree_cte``), which also maps every school to the child of the unit it sits
  under (for rollups), whatever the depth;
* the rank is a window function: ``RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST)``.
  Schools with the same score and on-time rate share a rank (1, 2, 2, 4); rows are listed by rank,
  then name;
* on PostgreSQL the rows leave the database as one JSON text, which the API sends as it is: shaping
  12,000 rows in Python would cost more than computing them. Elsewhere (the SQLite demo) the same
  statement ends in plain rows, shaped here into the same document (a test holds the two equal);
* access is decided by ``tracker.scope.dashboard_access`` (the roots the caller sees);
* the per-school counts are read from the rollup tables (``tracker.monitoring.rollup_reads``), never by
  scanning the cycle's tasks, and on PostgreSQL a built document is kept and served again while its
  token (``tracker.reporting.overview_cache``: rows, flags, criteria, units, no deadline passed) holds;
  when it does not, the flat document is patched with the schools that changed
  (``tracker.reporting.overview_patch``) rather than built again. The parts it is patched from are kept
  once per cycle, for every school under its authority, and a scope below it is cut from them: its
  schools (read from the tree for the token's version of the tree's facts) ranked among themselves, their
  totals summed (``tracker.reporting.overview_parts``), so a scope's first read costs a cut, not a build.
  A scope read before the cycle's parts exist is built in full, and the parts are built once its
  response is sent; the parts are also stored in the database, read back when the cache has lost them; the
  worker builds them when a cycle is activated and warms them, with the scopes read lately, after a unit
  or criterion change (``tracker.reporting.handlers``).
  The per-unit rollup (``?unit=``) is kept per unit and built in full when its token changes.
  The SQL: ``tracker.reporting.overview_sql``.

Counts and rates: ``tracker.reporting.rules`` (with section 7's ``at_risk`` count, ``extensions`` sum and
``on_time_original_rate`` beside ``on_time_rate``). A school's ``score`` is the sum of its task scores
(unscored tasks count 0); ``max_score`` the sum of its criteria's ``max_score``. A rollup row sums
the counts of the schools under it, computes its rates over the summed counts, and reports the mean
school ``score`` (and ``max_score``). ``last_activity_at`` is the time of the latest thing that
happened to one of the school's tasks in the cycle (task transitions, evidence uploads and deletions):
the latest ``Task.last_activity_at``, which the services stamp, taken in the same ``GROUP BY`` as the
counts; a rollup row has the latest of its schools'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tracker.assessment.models import Cycle
from tracker.org.models import Unit
from tracker.org.tree import placeholders

from . import overview_cache, overview_parts, overview_patch, overview_tree
from .after_response import after_response
from .overview_parts import ranked
from .overview_sql import (
    FLAT_RANKED,
    FLAT_SHAPE,
    ROLLUP_RANKED,
    ROLLUP_SHAPE,
    TOTAL_FIELDS,
    Shape,
    chain,
    json_select,
    local_times,
    rows_select,
)


def iso_local(value: datetime | str | None) -> str | None:
    """A time as the JSON path renders it: ISO 8601 in the local zone."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text, in UTC
        value = parse_datetime(value)
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
    return timezone.localtime(value).isoformat()


def _shape_rows(records: list[tuple], shape: Shape) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    n_totals, n_ref = len(TOTAL_FIELDS), len(shape.ref)
    totals: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for record in records:
        values = record[4:]
        if record[0]:
            totals = dict(zip(TOTAL_FIELDS, values[:n_totals], strict=True))
            continue
        ref = dict(zip((key for key, _, _ in shape.ref), values[n_totals : n_totals + n_ref], strict=True))
        row: dict[str, Any] = {shape.ref_key: ref}
        row.update(zip((key for key, _, _ in shape.fields), values[n_totals + n_ref :], strict=True))
        for key in ("score", "max_score"):
            row[key] = float(row[key]) if row[key] is not None else None
        row["last_activity_at"] = iso_local(row["last_activity_at"])
        rows.append(row)
    return totals, rows


@dataclass(frozen=True)
class Overview:
    """Totals and rows, keyed "school" (per school) or "unit" (per child unit, rolled up).

    Held as the JSON text the database built (PostgreSQL) or as Python objects (elsewhere); each form
    is derived from the other on demand.
    """

    cycle: Cycle
    generated_at: datetime
    unit: Unit | None
    _totals: dict[str, Any] | None = field(default=None, repr=False)
    _rows: list[dict[str, Any]] | None = field(default=None, repr=False)
    _totals_json: str | None = field(default=None, repr=False)
    _rows_json: str | bytes | None = field(default=None, repr=False)  # bytes: UTF-8, as kept

    @property
    def rolled_up(self) -> bool:
        return self.unit is not None

    @cached_property
    def totals(self) -> dict[str, Any]:
        return self._totals if self._totals is not None else orjson.loads(self._totals_json or "{}")

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        return self._rows if self._rows is not None else orjson.loads(self._rows_json or "[]")

    @cached_property
    def totals_json(self) -> str:
        return self._totals_json if self._totals_json is not None else orjson.dumps(self._totals).decode()

    @cached_property
    def rows_json(self) -> str:
        return self.rows_json_bytes.decode() if not isinstance(self._rows_json, str) else self._rows_json

    @cached_property
    def rows_json_bytes(self) -> bytes:
        """The rows' JSON in UTF-8, as a response sends it (kept so: no encoding per request)."""
        if isinstance(self._rows_json, bytes):
            return self._rows_json
        return self._rows_json.encode() if self._rows_json is not None else orjson.dumps(self._rows)


def _as_json(as_json: bool | None) -> bool:
    return connection.vendor == "postgresql" if as_json is None else as_json


def _from_rows(
    *, cycle: Cycle, now: datetime, unit: Unit | None, sql: str, params: list[Any], shape: Shape
) -> Overview:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        totals, rows = _shape_rows(cursor.fetchall(), shape)
    return Overview(cycle, now, unit, _totals=totals, _rows=rows)


def overview_schools(*, cycle: Cycle, roots: Sequence[int], now: datetime, as_json: bool | None = None) -> Overview:
    """One row per school under `roots` (the cycle's authority, or the caller's part of it)."""
    roots = sorted(set(roots))
    # Every school maps to the same top (0): a school under two roots still counts once.
    seed = f"SELECT u.id, 0 FROM tracker_unit u WHERE u.id IN ({placeholders(roots)})"
    only_tree = roots != [cycle.authority_id]
    if not _as_json(as_json):
        ctes, params = chain(cycle=cycle, now=now, seed=seed, seed_params=roots, only_tree=only_tree)
        sql = ctes + FLAT_RANKED + "\n" + rows_select(FLAT_SHAPE)
        return _from_rows(cycle=cycle, now=now, unit=None, sql=sql, params=params, shape=FLAT_SHAPE)
    key = overview_cache.cache_key(cycle_id=cycle.pk, unit_id=None, roots=roots)
    wide = overview_cache.cache_key(cycle_id=cycle.pk, unit_id=None, roots=[cycle.authority_id])
    check = overview_cache.cached(key=key, cycle_id=cycle.pk, now=now, parts_key=wide)
    document = check.kept
    if document is None and check.token is not None:
        document = _patched(cycle=cycle, now=now, key=key, wide=wide, roots=roots, check=check)
    if document is None:
        ctes, params = chain(cycle=cycle, now=now, seed=seed, seed_params=roots, only_tree=only_tree)
        # Below the cycle's authority, the cycle's parts are made ready for the next request once this
        # response is sent (read as the authority's document: patched if they can be, else built).
        warm = (lambda: overview_schools(cycle=cycle, roots=[cycle.authority_id], now=now)) if only_tree else None
        document = overview_patch.build(
            cycle=cycle, now=now, key=key, ctes=ctes, params=params, parts=not only_tree, then=warm
        )
    return Overview(cycle, now, None, _totals_json=document[0], _rows_json=document[1])


def patch_chain(*, cycle: Cycle, now: datetime):
    """The chain a patch counts its changed schools with (overview_patch.patch's `chain`): seeded by the
    schools it names, no walk of the tree; the dirty schools' tasks read unless the cycle is `clean`."""

    def over(seed: str, seed_params: Sequence[Any], clean: bool):
        return chain(
            cycle=cycle, now=now, seed=seed, seed_params=seed_params, only_tree=True, walk=False, readable=not clean
        )

    return over


def _patched(
    *, cycle: Cycle, now: datetime, key: str, wide: str, roots: list[int], check: overview_cache.Check
) -> tuple[str, bytes] | None:
    """The cycle's parts patched as of `now` and cut to the schools under `roots` (tracker.reporting.
    overview_parts), or None when they cannot be: the document is then built in full."""
    patched = overview_patch.patch(
        cycle=cycle,
        now=now,
        key=wide,
        token=check.token,
        clean=not check.dirty,
        chain=patch_chain(cycle=cycle, now=now),
    )
    if patched is None:
        return None
    parts = patched.parts
    if key != wide:
        schools = overview_tree.scope_schools(roots, overview_cache.Token(patched.token).tree_facts)
        if schools is None:
            return None  # the tree changed since the parts' statement
        among = [i for i, school in enumerate(parts.ids) if school in schools]
        if len(among) != len(schools):
            return None  # a school under `roots` that is not under the cycle's authority
        parts = ranked(parts, among)
    rows_json = parts.document()
    totals_json = overview_parts.totals_json(len(parts.ids), parts.sums)
    token, dirty = patched.token, patched.dirty

    def keep() -> None:
        overview_cache.keep(key=key, token=token, dirty=dirty, now=now, totals_json=totals_json, rows_json=rows_json)
        if key != wide and not dirty:
            overview_cache.scope_kept(cycle.pk, roots)

    after_response(keep)
    return totals_json, rows_json


def overview_units(*, cycle: Cycle, unit: Unit, now: datetime, as_json: bool | None = None) -> Overview:
    """One row per child of `unit`: a school as itself, an authority with every school below it."""
    seed = "SELECT u.id, u.id FROM tracker_unit u WHERE u.parent_id = %s"
    ctes, params = chain(
        cycle=cycle, now=now, seed=seed, seed_params=[unit.pk], only_tree=unit.pk != cycle.authority_id
    )
    ctes, params = ctes + ROLLUP_RANKED, [*params, unit.pk]
    if not _as_json(as_json):
        return _from_rows(
            cycle=cycle,
            now=now,
            unit=unit,
            sql=ctes + "\n" + rows_select(ROLLUP_SHAPE),
            params=params,
            shape=ROLLUP_SHAPE,
        )
    # The document as built for an earlier request, when nothing it was built from has changed.
    key = overview_cache.cache_key(cycle_id=cycle.pk, unit_id=unit.pk, roots=())
    kept = overview_cache.cached(key=key, cycle_id=cycle.pk, now=now).kept
    if kept is None:
        state, state_params = overview_cache.state_sql(cycle.pk)
        with local_times(), connection.cursor() as cursor:
            cursor.execute(f"{ctes}\n{json_select(ROLLUP_SHAPE)}, {state}", [*params, *state_params])
            totals_json, rows_json, token, dirty = cursor.fetchone()
        kept = totals_json, rows_json.encode()
        overview_cache.keep(key=key, token=token, dirty=dirty, now=now, totals_json=kept[0], rows_json=kept[1])
    return Overview(cycle, now, unit, _totals_json=kept[0], _rows_json=kept[1])
