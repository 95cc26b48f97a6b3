"""The counting and rate rules of every report (dashboards, criteria, one school, snapshots, trends).

Counts are conditional aggregates over tasks as of `now`; a rate is a count over another, None when
the whole is 0. `rate` (Python) and `rate_sql` (the SQL of the hand-written rollups) are the one
definition of a rate, and RATES says which counts each rate divides (CONTRACT sections 2 and 7):
completion_rate = approved / tasks; on_time_rate = on_time / due_passed, where due_passed counts the
tasks whose due time has passed and on_time those of them whose latest submission came at or before
the due time then in force; on_time_original_rate = on_time_original / original_due_passed, the same
judged against the original due time (which extensions never move). `at_risk` counts the tasks early
warning judges at risk (tracker.monitoring.rules); `extensions` sums the tasks' extensions.
"""

from __future__ import annotations

from collections.abc import Mapping

from tracker.monitoring.counts import (
    COUNT_FIELDS,
    due_passed_q,
    on_time_original_q,
    on_time_q,
    original_due_passed_q,
    submitted_in_time_q,
    task_count_aggregates,
)

__all__ = [
    "COUNT_FIELDS",
    "RATES",
    "due_passed_q",
    "on_time_original_q",
    "on_time_q",
    "original_due_passed_q",
    "rate",
    "rate_sql",
    "rates",
    "rates_sql",
    "submitted_in_time_q",
    "task_count_aggregates",
]

# (rate, part, whole)
RATES = (
    ("completion_rate", "approved", "tasks"),
    ("on_time_rate", "on_time", "due_passed"),
    ("on_time_original_rate", "on_time_original", "original_due_passed"),
)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def rates(counts: Mapping[str, int]) -> dict[str, float | None]:
    """Every rate of RATES over one row of counts."""
    return {name: rate(counts[part], counts[whole]) for name, part, whole in RATES}


def rate_sql(part: str, whole: str) -> str:
    """`rate` in SQL: a DOUBLE PRECISION quotient, NULL when the whole is 0."""
    return f"CAST({part} AS DOUBLE PRECISION) / NULLIF({whole}, 0)"


def rates_sql(column: str = "{}", *, named: bool = True) -> str:
    """Every rate of RATES in SQL, each count written through `column` (e.g. "SUM({})", "d.{}")."""
    return ", ".join(
        rate_sql(column.format(part), column.format(whole)) + (f" AS {name}" if named else "")
        for name, part, whole in RATES
    )
