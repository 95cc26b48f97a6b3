"""The parts of the flat overview (tracker.reporting.overview_patch): every school's JSON row in two pieces
around its rank, what ranks it and its counts, for every school under the cycle's authority.

Nothing in a school's row depends on who reads it: its name, counts, rates, score and flag are the
school's, and only its rank (its place among the schools read) and the totals (their sums) depend on the
scope. So the parts are kept once per cycle and a scope's document is *cut* from them: its schools
taken in the parts' order, ranked again among themselves (`ranked`, the same RANK() as the SQL, ties
listed by name in the database's collation: the parts' place by name, numbered over every school,
orders any subset as it orders the whole) and their totals written from their sums by the same SQL as a
full build (`totals_json`).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime

from django.db import connection

from .overview_sql import SUM_FIELDS, TOTALS_CTE, TOTALS_JSON

# Per school: SUM_FIELDS, then 1 if it has an open flag (flagged_schools).
N_COUNTS = len(SUM_FIELDS) + 1
INF = float("inf")


def _starts(rows: Sequence[bytes]) -> array:
    """Where each row starts in the rows joined by commas."""
    starts, at = array("q"), 0
    for row in rows:
        starts.append(at)
        at += len(row) + 1
    return starts


@dataclass
class Parts:
    """Per school in rank order: id, name, place by name, score key (score x 100), on-time rate, its JSON
    in UTF-8 (in `body`, the rows joined by commas, from `starts`) with where its rank starts in it and
    the rank, its N_COUNTS counts; the sums of the counts and the cycle's open flags.
    Kept as a tuple starting with (token, now): one bytes object for the rows, cheap to read back."""

    token: str
    now: datetime
    ids: array
    names: list[str]
    ticks: array
    score_keys: array
    rates: list[float | None]
    body: bytes
    starts: array
    cuts: array
    ranks: array
    counts: array
    sums: tuple[int, ...]
    flag_ids: list[int]
    flag_severities: list[str]

    def value(self) -> tuple:
        return tuple(getattr(self, name.name) for name in fields(self))

    @classmethod
    def copied(cls, value: tuple) -> Parts:
        """Parts to patch from a kept value (which this process may hold for other requests: not changed)."""
        parts = cls(*value)
        for name in ("ids", "ticks", "score_keys", "starts", "cuts", "ranks", "counts"):
            old = getattr(parts, name)
            setattr(parts, name, array(old.typecode, old))
        parts.rates, parts.names = list(parts.rates), list(parts.names)
        return parts

    def row(self, i: int) -> bytes:
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.body)
        return self.body[self.starts[i] : end]

    def replaced(self, rows: dict[int, bytes]) -> None:
        """The rows at these places replaced in the body (their ranks as they were), the starts moved."""
        pieces, done, changes = [], 0, {}
        for i in sorted(rows):
            start = self.starts[i]
            end = start + len(self.row(i))
            pieces += (self.body[done:start], rows[i])
            done = end
            changes[i] = len(rows[i]) - (end - start)
        pieces.append(self.body[done:])
        self.body = b"".join(pieces)
        if any(changes.values()):  # one pass, whatever the number of rows replaced
            shift, starts = 0, array("q")
            for i, start in enumerate(self.starts):
                starts.append(start + shift)
                shift += changes.get(i, 0)
            self.starts = starts

    def appended(self, added: Sequence[tuple]) -> None:
        """Schools added at the end, unranked (rank 0: `ranked` writes theirs), each as (id, name, head,
        tail, score key, on-time rate, counts), their counts added to the sums."""
        rows = [self.row(i) for i in range(len(self.ids))]
        sums = list(self.sums)
        for school, name, head, tail, score_key, rate, counts in added:
            rows.append(head + b"0" + tail)
            self.ids.append(school)
            self.names.append(name)
            self.ticks.append(0)
            self.score_keys.append(score_key)
            self.rates.append(rate)
            self.cuts.append(len(head))
            self.ranks.append(0)
            self.counts.extend(counts)
            sums = [total + value for total, value in zip(sums, counts, strict=True)]
        self.body, self.starts, self.sums = b",".join(rows), _starts(rows), tuple(sums)

    def document(self) -> bytes:
        return b"[" + self.body + b"]"


def ranked(parts: Parts, among: Sequence[int] | None = None) -> Parts:
    """RANK() OVER (ORDER BY score DESC, on_time_rate DESC NULLS LAST), listed by rank then name, in Python:
    the parts (only the schools at the places `among`, their sums then counted again) in the new order,
    each row's rank written again where it changed.

    The parts are kept in rank order, so the sort meets a nearly sorted list; only the schools `among` are
    keyed (a cut of 3,000 of 12,000 schools reads a quarter of them).
    """
    places = range(len(parts.ids)) if among is None else among
    score_keys, rates, ticks = parts.score_keys, parts.rates, parts.ticks
    if among is None:
        keys = list(zip([-key for key in score_keys], [INF if r is None else -r for r in rates], ticks, strict=True))
    else:
        keys = [(-score_keys[i], INF if rates[i] is None else -rates[i], ticks[i]) for i in among]
    by_key = sorted(range(len(keys)), key=keys.__getitem__)
    order = [places[j] for j in by_key]
    ranks, rank, last_score, last_rate = array("q"), 0, None, None
    for position, (score, rate, _) in enumerate(map(keys.__getitem__, by_key), 1):
        if score != last_score or rate != last_rate:
            rank, last_score, last_rate = position, score, rate
        ranks.append(rank)
    if among is None and ranks == parts.ranks and by_key == list(range(len(by_key))):
        return parts  # every school where it was, with its rank
    body, starts, cuts, old_ranks, end = parts.body, parts.starts, parts.cuts, parts.ranks, len(parts.body)
    last_place, rows = len(starts) - 1, []
    for i, rank in zip(order, ranks, strict=True):
        start = starts[i]
        stop = starts[i + 1] - 1 if i < last_place else end
        old = old_ranks[i]
        if rank == old:
            rows.append(body[start:stop])
        else:
            cut = start + cuts[i]
            rows.append(body[start:cut] + b"%d" % rank + body[cut + len(b"%d" % old) : stop])
    counts = array("i")
    for i in order:
        counts.extend(parts.counts[i * N_COUNTS : (i + 1) * N_COUNTS])
    sums = parts.sums if among is None else tuple(sum(counts[j::N_COUNTS]) for j in range(N_COUNTS))
    return replace(
        parts,
        ids=array("q", [parts.ids[i] for i in order]),
        names=[parts.names[i] for i in order],
        ticks=array("q", [ticks[i] for i in order]),
        score_keys=array("q", [score_keys[i] for i in order]),
        rates=[rates[i] for i in order],
        body=b",".join(rows),
        starts=_starts(rows),
        cuts=array("q", [cuts[i] for i in order]),
        ranks=ranks,
        counts=counts,
        sums=sums,
    )


def totals_json(schools: int, sums: Sequence[int]) -> str:
    """The totals as a full build writes them, from the schools' sums (the same TOTALS_CTE)."""
    columns = ", ".join(f"CAST(%s AS NUMERIC) AS {name}" for name in SUM_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH sums AS (SELECT CAST(%s AS BIGINT) AS schools, {columns}, CAST(%s AS BIGINT) AS flagged_schools),\n"
            f"{TOTALS_CTE}\nSELECT {TOTALS_JSON} FROM totals",
            [schools, *sums],
        )
        return cursor.fetchone()[0]
