"""Scoring (CONTRACT section 2, Score)."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

from .rules import DAY_SECONDS

ZERO = Decimal("0")


def days_late(*, submitted_at: datetime, due_at: datetime) -> int:
    """Whole days, rounded up, that a submission came after its due time (0 when on time)."""
    seconds = (submitted_at - due_at).total_seconds()
    return math.ceil(seconds / DAY_SECONDS) if seconds > 0 else 0


def late_penalty(*, per_day: Decimal, cap: Decimal, submitted_at: datetime, due_at: datetime) -> Decimal:
    return min(cap, per_day * days_late(submitted_at=submitted_at, due_at=due_at))


def score_compute(*, max_score: Decimal, deduction_points: list[Decimal], penalty: Decimal) -> Decimal:
    return max(ZERO, max_score - sum(deduction_points, ZERO) - penalty)
