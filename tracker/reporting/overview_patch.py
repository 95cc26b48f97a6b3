"""The flat overview (one row per school) on PostgreSQL: built once in full, then patched row by row.

A full build writes each school's JSON in two fragments (before its rank, after it) and returns them with
what ranks it (score, on-time rate, its place by name in the database's collation) and its counts, and
the totals' sums; the document is the rows joined in rank order. A full build over the cycle's authority
also keeps the rows (UTF-8, with where the rank sits), keys, names and counts beside it: the cycle's
parts (`tracker.reporting.overview_parts.Parts`, overview_cache.keep_parts), from which every scope's
document is cut (tracker.reporting.overview).

When the kept document's token no longer matches (a flush after a task write, a sweep's advance, a flag,
a write to the unit tree), and the parts' frame holds (the same clock and criteria, no row reset:
`Token.patchable_from`), the schools that may have changed since the parts were read are counted again,
and only they:

* the rollup rows stamped with a later generation (every flush, advance and rebuild stamps the rows it
  writes, tracker.monitoring.rollups);
* the dirty schools (counted from their tasks, as a full build does);
* the schools with an edge between the kept `now` and this one (a deadline or early-warning moment);
* the schools whose open flag differs from the kept flags;
* when the tree's facts changed (tracker.org.models.UnitTreeFacts: a unit added, deleted, moved or of
  another kind, a school renamed), the schools added under the authority or renamed, read with every
  school's place by name (tracker.reporting.overview_tree); the schools no longer under it are dropped.
  When the log of the facts' changes says that only schools were renamed (at most RENAMES), only they are
  read, with their places by name among the others (no walk of the tree, no other name read).

Every other school's counts, as of this `now`, are what they were: its row and edges are unchanged, and
the edges it has between the two clocks' times were folded into a row that would be stamped. The changed
rows replace the kept ones; if a score or on-time rate changed, or schools came, went or were renamed,
the ranks are computed again over all the schools (RANK() in Python: a sort of small keys) and rewritten
where they moved; the totals are the kept sums plus the changed schools' differences (or the sums over
the schools kept), written by the same SQL as a full build's. What is served is therefore what a full
build would write, byte for byte (tests/tracker/reporting/test_overview_patch.py and test_overview_cut.py
compare them after each kind of change, for several scopes). A changed school not under the authority is
skipped.

Only the flat shape is patched; the per-unit rollup (`?unit=`) is built in full when its token changes.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from tracker.assessment.models import Cycle
from tracker.monitoring.rollup_models import RoundKind

from . import overview_cache, overview_tree
from .after_response import after_response
from .overview_cache import Token
from .overview_parts import INF, N_COUNTS, Parts, ranked
from .overview_sql import FLAT_RANKED, FLAT_SHAPE, SUM_FIELDS, TOTALS_JSON, Shape, json_value, local_times

# Schools patched since the parts were kept beyond which the parts are kept again, as patched: each patch
# recounts every school changed since the parts, so their number must stay small.
REBASE = 200
RENAMES = 16  # schools renamed since the parts beyond which the tree's facts are read again instead


def _fragments(shape: Shape) -> tuple[str, str]:
    """SQL writing a row's JSON before its rank and after it: the whole row is head || rank || tail."""
    keys = [key for key, _, _ in shape.fields]
    cut = keys.index("rank")
    before, after = shape.fields[:cut], shape.fields[cut + 1 :]
    ref = ",".join(f'"{key}":%%s' for key, _, _ in shape.ref)
    head = f'{{"{shape.ref_key}":{{{ref}}},' + "".join(f'"{key}":%%s,' for key, _, _ in before) + '"rank":'
    tail = "".join(f',"{key}":%%s' for key, _, _ in after) + "}"

    def written(template: str, fields: Sequence[tuple[str, str, str]]) -> str:
        args = "".join(f", {json_value(sql, kind)}" for _, sql, kind in fields)
        return f"format('{template}'{args})"

    return written(head, (*shape.ref, *before)), written(tail, after)


_HEAD, _TAIL = _fragments(FLAT_SHAPE)
_COUNTS = ", ".join(f"CAST({name} AS BIGINT)" for name in SUM_FIELDS)
_NULL_COUNTS = ", ".join(["CAST(NULL AS BIGINT)"] * N_COUNTS)
_OPEN_FLAGS = "SELECT school_id, severity FROM tracker_flag WHERE cycle_id = %s AND resolved_at IS NULL"
# The columns: part (0 the state, 1 a school), id, head, tail, rank, score key, on-time rate, place by
# name, N_COUNTS counts, its name, the cycle's open flags (school ids, severities).
# The place by name is numbered over (id, name) alone, and the rows are put in order in Python: sorting
# the rows as written (several hundred bytes each) cost PostgreSQL more than the rest of the statement.
_SCHOOLS = f"""
SELECT 1, id, {_HEAD}, {_TAIL}, rank, CAST(score * 100 AS BIGINT), on_time_rate,
       tick, {_COUNTS}, CASE WHEN flag IS NULL THEN 0 ELSE 1 END, name,
       CAST(NULL AS BIGINT[]), CAST(NULL AS TEXT[])
FROM ranked JOIN (SELECT id, row_number() OVER (ORDER BY name, id) AS tick FROM school_rows) ticks USING (id)"""


def _select(*, cycle_id: int, full: bool, with_flags: bool, missed: tuple[str, list[Any]] | None = None):
    """The final SELECT over the chain's CTEs: a state row, then one row per school. In a patch the state
    row's score key column counts the changed schools `missed` finds (changed since they were looked up)."""
    state, state_params = overview_cache.state_sql(cycle_id)
    flags, flag_params = "CAST(NULL AS BIGINT[]), CAST(NULL AS TEXT[])", []
    if with_flags:
        flags = (
            f"(SELECT array_agg(school_id ORDER BY school_id) FROM ({_OPEN_FLAGS}) f), "
            f"(SELECT CAST(array_agg(severity ORDER BY school_id) AS TEXT[]) FROM ({_OPEN_FLAGS}) f)"
        )
        flag_params = [cycle_id, cycle_id]
    if full:
        totals, sums, source = (
            f"(SELECT {TOTALS_JSON} FROM totals)",
            f"{_COUNTS}, s.flagged_schools",
            "CROSS JOIN sums s",
        )
    else:
        totals, sums, source = "CAST(NULL AS TEXT)", _NULL_COUNTS, ""
    missed_sql, missed_params = missed or ("CAST(NULL AS BIGINT)", [])
    sql = (
        f"{FLAT_RANKED}\nSELECT 0, CAST(NULL AS BIGINT), {totals}, t.token, CAST(t.dirty AS INT), "
        f"{missed_sql}, CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS BIGINT), {sums}, CAST(NULL AS TEXT), {flags} "
        f"FROM (SELECT {state}) t(token, dirty) {source}\nUNION ALL{_SCHOOLS}"
    )
    return sql, [*missed_params, *flag_params, *state_params]


def _run(sql: str, params: list[Any]) -> list[tuple]:
    with local_times(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def build(
    *, cycle: Cycle, now: datetime, key: str, ctes: str, params: list[Any], parts: bool, then=None
) -> tuple[str, bytes]:
    """The full build of the flat document (`ctes`: the chain over the scope). The document and (`parts`:
    the scope is the cycle's authority) the parts to patch it are kept after the response is sent
    (after_response): the response needs neither. `then` (a callable) runs after them if they were kept."""
    sql, select_params = _select(cycle_id=cycle.pk, full=True, with_flags=True)
    records = _run(ctes + sql, [*params, *select_params])
    state, schools = _state_and_schools(records)
    schools.sort(key=lambda row: (row[4], row[7]))  # by rank, then name
    rows_json = ("[" + ",".join([f"{row[2]}{row[4]}{row[3]}" for row in schools]) + "]").encode()
    token, dirty, totals_json = state[3], bool(state[4]), state[2]
    if token is not None and not dirty:
        kept = schools if parts else []
        after_response(
            lambda: _keep(key=key, cycle_id=cycle.pk, now=now, state=state, schools=kept, rows_json=rows_json)
        )
        if then is not None:
            after_response(then)
    return totals_json, rows_json


def _keep(*, key: str, cycle_id: int, now: datetime, state: tuple, schools: list[tuple], rows_json: bytes) -> None:
    """Keep the document a full build wrote and, if it has schools, the parts to patch it."""
    token, totals_json = state[3], state[2]
    overview_cache.keep(key=key, token=token, dirty=False, now=now, totals_json=totals_json, rows_json=rows_json)
    if not schools:
        return
    counts, cuts, starts, at = array("i"), array("q"), array("q"), 0
    for row in schools:
        counts.extend(row[8 : 8 + N_COUNTS])
        cut = len(row[2].encode())
        cuts.append(cut)
        starts.append(at)
        at += cut + len(b"%d" % row[4]) + len(row[3].encode()) + 1
    parts = Parts(
        token=token,
        now=now,
        ids=array("q", [row[1] for row in schools]),
        names=[row[8 + N_COUNTS] for row in schools],
        ticks=array("q", [row[7] for row in schools]),
        score_keys=array("q", [row[5] for row in schools]),
        rates=[row[6] for row in schools],
        body=rows_json[1:-1],
        starts=starts,
        cuts=cuts,
        ranks=array("q", [row[4] for row in schools]),
        counts=counts,
        sums=tuple(state[8 : 8 + N_COUNTS]),
        flag_ids=list(state[-2] or []),
        flag_severities=list(state[-1] or []),
    )
    overview_cache.keep_parts(key, parts.value(), cycle_id=cycle_id)


def _state_and_schools(records: list[tuple]) -> tuple[tuple, list[tuple]]:
    """The state row (part 0) and the schools' rows, in the order they came."""
    return next(row for row in records if row[0] == 0), [row for row in records if row[0] == 1]


def _changed(kept_flags: bool) -> str:
    """The schools that may have changed since the parts were read (school_id)."""
    flags = (
        ""
        if kept_flags
        else f"""
        UNION SELECT COALESCE(f.school_id, b.school_id) FROM ({_OPEN_FLAGS}) f
        FULL JOIN unnest(CAST(%s AS BIGINT[]), CAST(%s AS TEXT[])) b(school_id, severity) ON b.school_id = f.school_id
        WHERE f.severity IS DISTINCT FROM b.severity"""
    )
    return f"""SELECT r.school_id FROM tracker_schoolrollup r
        WHERE r.round_kind = {RoundKind.CYCLE} AND r.round_id = %s AND r.generation > %s
        UNION SELECT d.school_id FROM tracker_rollupdirty d WHERE d.round_kind = {RoundKind.CYCLE} AND d.round_id = %s
        UNION SELECT e.school_id FROM tracker_rollupedge e WHERE e.round_kind = {RoundKind.CYCLE} AND e.round_id = %s
            AND e.at >= LEAST(%s, %s) AND e.at < GREATEST(%s, %s){flags}"""


@dataclass(frozen=True)
class Patched:
    """The cycle's parts patched as of `token` (a scope's document is cut from them)."""

    parts: Parts
    token: str
    dirty: bool


def patch(*, cycle: Cycle, now: datetime, key: str, token: Token, clean: bool, chain) -> Patched | None:
    """The parts kept under `key` (the cycle's) patched as of now, or None when they cannot be.

    `chain(seed, seed_params, clean)` gives the chain's CTEs and parameters over the units of `seed` (no
    walk); `clean` (no school was dirty at the check) reads the rollup rows alone, without the branch
    that counts dirty schools from their tasks: if one is dirty by the time of the statement, the patch
    is not used.
    Two statements: the changed schools' ids, then their rows, so that the planner sees how few they are
    (a subquery's estimate led it to hash every school). The second finds again the schools changed
    since the parts: if one is not among the ids (written in between), the patch is not used. When the
    unit tree's facts changed since the parts (UnitTreeFacts), a third (first) reads them
    (overview_tree) and the schools added or renamed are counted with the others, those gone dropped; the
    second statement checks the facts are still at that version. A write to the tree that changed none of
    them (its version moved, not its facts') costs nothing more.
    """
    kept = overview_cache.parts(key)
    if kept is None:
        return None
    base = Token(kept[0])
    if not token.patchable_from(base):
        return None
    parts = Parts.copied(kept)
    tree, tree_version, gone, fetch, renames = None, base.tree_facts, set(), [], None
    if token.tree_facts != base.tree_facts:
        renames = _renames(parts, base.tree_facts, token.tree_facts)
        if renames is not None:  # only schools renamed: their places by name, not every school's
            tree_version, fetch = renames.version, list(renames.place)
        else:
            tree = overview_tree.facts(cycle.authority_id)
            tree_version, (gone, fetch) = tree.version, _tree_changes(parts, tree)
    base_now, flag_ids, flag_severities = parts.now, parts.flag_ids, parts.flag_severities
    kept_flags = token.flags == base.flags
    changed, changed_params = _changed(kept_flags), [cycle.pk, base.generation, cycle.pk, cycle.pk]
    changed_params += [base_now, now, base_now, now]
    if not kept_flags:
        changed_params += [cycle.pk, flag_ids, flag_severities]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(array_agg(school_id), '{{}}') FROM ({changed}) c", changed_params)
        looked_up = cursor.fetchone()[0]
    seed = "SELECT u.id, 0 FROM tracker_unit u WHERE u.id = ANY(%s)"
    ctes, params = chain(seed, [[*looked_up, *fetch]], clean)
    missed = (f"(SELECT count(*) FROM ({changed}) c WHERE NOT (c.school_id = ANY(%s)))", [*changed_params, looked_up])
    sql, select_params = _select(cycle_id=cycle.pk, full=False, with_flags=not kept_flags, missed=missed)
    records = _run(ctes + sql, [*params, *select_params])
    state, changed_rows = _state_and_schools(records)
    current, dirty = state[3], bool(state[4])
    if current is None or state[5] or (clean and dirty) or not Token(current).patchable_from(base):
        return None  # the frame changed since the check, a school changed since it was looked up or got dirty
    if Token(current).tree_facts != tree_version:
        return None  # the tree's facts changed since they were read
    sums, moved, rows, added, fetched = list(parts.sums), False, {}, [], set(fetch)
    place = _places(parts.ids, [row[1] for row in changed_rows])
    for row in changed_rows:
        i = place.get(row[1])
        head, tail, new = row[2].encode(), row[3].encode(), row[8 : 8 + N_COUNTS]
        if i is None:
            if row[1] in fetched:
                added.append((row[1], row[8 + N_COUNTS], head, tail, row[5], row[6], new))
            continue  # else not under the cycle's authority
        moved = moved or (row[5], row[6]) != (parts.score_keys[i], parts.rates[i])
        rows[i], parts.cuts[i] = head + b"%d" % parts.ranks[i] + tail, len(head)
        parts.score_keys[i], parts.rates[i], parts.names[i] = row[5], row[6], row[8 + N_COUNTS]
        for j, value in enumerate(new):
            sums[j] += value - parts.counts[i * N_COUNTS + j]
        parts.counts[i * N_COUNTS : (i + 1) * N_COUNTS] = array("i", new)
    parts.sums, patched = tuple(sums), len(rows)
    parts.replaced(rows)
    if tree is not None and (gone or fetch):  # schools added, gone or renamed: placed by name again, ranked
        if added:
            parts.appended(added)
        tick_of = dict(zip(tree.ids, tree.ticks, strict=True))
        parts.ticks = array("q", [tick_of.get(school, 0) for school in parts.ids])
        parts = ranked(parts, [i for i, school in enumerate(parts.ids) if school not in gone] if gone else None)
    elif renames is not None and renames.place:  # schools renamed: placed by name again, ranked if moved
        parts.ticks = _ticks_renamed(parts, renames)
        if moved or not _in_order(parts, renames.place.values()):
            parts = ranked(parts)
    elif moved:  # a score or on-time rate changed: rank again
        parts = ranked(parts)
    if (patched > REBASE or tree_version != base.tree_facts) and not dirty:
        parts.token, parts.now = current, now
        if not kept_flags:
            parts.flag_ids, parts.flag_severities = list(state[-2] or []), list(state[-1] or [])
        value = parts.value()
        after_response(lambda: overview_cache.keep_parts(key, value, cycle_id=cycle.pk))
    return Patched(parts, current, dirty)


@dataclass(frozen=True)
class _Renames:
    """Schools of the parts renamed since them: where each is in the parts (`place`), their new places by name
    (`schools`: id, name, how many of the others come before it, in the order of their new names), the
    others' places in the parts in their order by name, and the facts' version all this was read at."""

    version: str
    place: dict[int, int]
    schools: list[tuple[int, str, int]]
    others: list[int]


def _renames(parts: Parts, base: str, version: str) -> _Renames | None:
    """The schools of the parts renamed between the facts' versions `base` and `version`; None unless only
    schools were renamed, and few (the tree's facts are then read)."""
    if int(version) < int(base):
        return None  # parts kept by another process as of a later tree than this request's token
    renamed = overview_tree.renamed_since(base, version)
    if renamed is None or len(renamed) > RENAMES:
        return None
    place = _places(parts.ids, renamed)
    if not place:  # none under the cycle's authority
        return _Renames(version, {}, [], [])
    at = set(place.values())
    others = sorted((i for i in range(len(parts.ids)) if i not in at), key=parts.ticks.__getitem__)
    found = overview_tree.renamed_places(list(place), [(parts.names[i], parts.ids[i]) for i in others])
    if found is None or found.version != version or len(found.schools) != len(place):
        return None  # the tree changed since the token was read
    return _Renames(version, place, found.schools, others)


def _ticks_renamed(parts: Parts, renames: _Renames) -> array:
    """Every school's place by name once `renames` were renamed: the others keep theirs, and each school
    renamed comes after as many of them as come before it."""
    others = renames.others
    ticks, tick, at = array("q", bytes(8 * len(parts.ids))), 0, 0
    for school, _, before in renames.schools:
        for i in others[at:before]:
            tick += 1
            ticks[i] = tick
        at = max(at, before)
        tick += 1
        ticks[renames.place[school]] = tick
    for i in others[at:]:
        tick += 1
        ticks[i] = tick
    return ticks


def _in_order(parts: Parts, places: Iterable[int]) -> bool:
    """Whether the schools at `places` still sort between their neighbours (score, on-time rate, place by
    name): when nothing else moved, the parts are then in rank order as they are, with their ranks."""

    def key(i: int) -> tuple:
        rate = parts.rates[i]
        return -parts.score_keys[i], INF if rate is None else -rate, parts.ticks[i]

    last = len(parts.ids) - 1
    return all((i == 0 or key(i - 1) < key(i)) and (i == last or key(i) < key(i + 1)) for i in places)


def _tree_changes(parts: Parts, tree: overview_tree.Facts) -> tuple[set[int], list[int]]:
    """The schools of the parts no longer under the authority, and those added or renamed since."""
    names = dict(zip(tree.ids, tree.names, strict=True))
    gone = {school for school in parts.ids if school not in names}
    kept = dict(zip(parts.ids, parts.names, strict=True))
    return gone, [school for school, name in names.items() if kept.get(school) != name]


def _places(ids: array, wanted: list[int]) -> dict[int, int]:
    """Where each of `wanted` is in `ids` (absent: not in this scope): a scan in C per id when they are few."""
    if len(wanted) > 32:
        return {school: i for i, school in enumerate(ids)}
    found = {}
    for school in wanted:
        with suppress(ValueError):  # not in this scope
            found[school] = ids.index(school)
    return found
