"""Reads of the integrity programme with a rule in them: a register's counts (aggregated in the
database, one GROUP BY for any number of schools) and which list items apply to a school."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from tracker.org.tree import ancestor_ids

from .models import ListItem, Post, Register, RegisterStatus, RiskLevel, RiskPoint
from .rules import has_process_map_q

LEVELS = tuple(RiskLevel.values)
POSTS = tuple(Post.values)


def risk_count_aggregates(prefix: str = "") -> dict[str, Any]:
    """Counts over risk points (reached through `prefix`): total, distinct items, by level, by post, and
    the high-risk points that have a process map."""
    counted = f"{prefix}id"

    def where(**lookups: Any) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    return {
        "risk_points": Count(counted),
        "items": Count(f"{prefix}item", distinct=True),
        **{f"level_{level}": Count(counted, filter=where(level=level)) for level in LEVELS},
        "high_with_process_map": Count(counted, filter=where(level=RiskLevel.HIGH) & has_process_map_q(prefix)),
        **{f"post_{post}": Count(counted, filter=where(post=post)) for post in POSTS},
    }


def _empty_counts() -> dict[str, int]:
    return {
        "risk_points": 0,
        "items": 0,
        "high_with_process_map": 0,
        **{f"level_{level}": 0 for level in LEVELS},
        **{f"post_{post}": 0 for post in POSTS},
    }


def register_summaries(*, school_ids: Iterable[int], year: int) -> dict[int, dict[str, Any]]:
    """For each school: its register of `year` (status, review) and its counts. A school without a
    register row has an empty draft."""
    ids = sorted(set(school_ids))
    registers = {r.school_id: r for r in Register.objects.filter(school_id__in=ids, year=year)}
    counts = {
        row.pop("school_id"): row
        for row in RiskPoint.objects.filter(school_id__in=ids, register__year=year)
        .order_by()
        .values("school_id")
        .annotate(**risk_count_aggregates())
    }
    out = {}
    for school_id in ids:
        register = registers.get(school_id)
        c = counts.get(school_id, _empty_counts())
        out[school_id] = {
            "school": school_id,
            "year": year,
            "status": register.status if register else RegisterStatus.DRAFT,
            "submitted_at": register.submitted_at if register else None,
            "reviewed_at": register.reviewed_at if register else None,
            "return_reason": register.return_reason if register else "",
            "items": c["items"],
            "risk_points": c["risk_points"],
            "by_level": {level: c[f"level_{level}"] for level in LEVELS},
            "high_with_process_map": c["high_with_process_map"],
            "posts": {post: c[f"post_{post}"] for post in POSTS},
        }
    return out


def items_applicable(*, school_id: int, lists: Iterable[str] | None = None) -> QuerySet[ListItem]:
    """The items that apply to a school: its own and those of every authority above it."""
    qs = ListItem.objects.filter(unit_id__in=ancestor_ids([school_id]))
    if lists is not None:
        qs = qs.filter(list__in=list(lists))
    return qs.order_by("list", "code", "id")


def register_rows(*, school_id: int, year: int) -> QuerySet[RiskPoint]:
    """A school's risk points of one year, with their items, in list and code order (pages, exports)."""
    return (
        RiskPoint.objects.filter(school_id=school_id, register__year=year)
        .select_related("item")
        .order_by("item__list", "item__code", "id")
    )
