#!/usr/bin/env python
"""Time the dashboard endpoints on a province that benchmarks/run.py generated, for comparing two
versions of the code on the same data (run by hand, not in CI):

    cd <worktree of version A> && DATABASE_URL=postgres://.../qinglian_bench \\
        .venv/bin/python benchmarks/dashboards_ab.py --repeat 9
    cd <worktree of version B> && (the same)        # and again, alternating

It changes nothing in the database. Each round requests every endpoint once, interleaved with the
overview's GROUP BY floor (benchmarks/run.py's); it prints the medians and each one's ratio to the
floor's median. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ["EMAIL_URL"] = "dummymail://"
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")

FLOOR_SQL = """
SELECT school_id, count(*),
       count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'submitted'),
       count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'not_started'),
       count(*) FILTER (WHERE status = 'returned'),
       count(*) FILTER (WHERE status IN ('not_started', 'in_progress', 'returned') AND due_at < now()),
       count(*) FILTER (WHERE due_at < now()),
       count(*) FILTER (WHERE due_at < now() AND submitted_at <= submitted_due_at),
       sum(score)
FROM tracker_task WHERE cycle_id = %s GROUP BY school_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="rounds (medians)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from tracker.models import Cycle, Unit

    cycle = Cycle.objects.get()
    province = Unit.objects.get(code="BENCH-P")
    client = APIClient()
    client.force_authenticate(user=get_user_model().objects.get(username="acct-BENCH-P"))
    paths = {
        "overview": f"/api/v1/dashboards/overview/?cycle={cycle.pk}",
        "rollup": f"/api/v1/dashboards/overview/?cycle={cycle.pk}&unit={province.pk}",
        "criteria": f"/api/v1/dashboards/criteria/?cycle={cycle.pk}",
        "overview.csv": f"/api/v1/exports/overview.csv?cycle={cycle.pk}",
    }

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL, [cycle.pk])
            cursor.fetchall()

    def get(path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    # Warm-up: connections, caches, plans.
    floor()
    for path in paths.values():
        get(path)
    times: dict[str, list[float]] = {name: [] for name in ["floor", *paths]}
    for _ in range(args.repeat):
        for name in times:
            start = time.perf_counter()
            if name == "floor":
                floor()
            else:
                get(paths[name])
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        Path.cwd().name,
        " ".join(f"{name}={seconds * 1000:.0f}ms" for name, seconds in medians.items()),
        " ".join(f"{name}/floor={medians[name] / medians['floor']:.2f}" for name in paths),
        f"load={os.getloadavg()[0]:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
