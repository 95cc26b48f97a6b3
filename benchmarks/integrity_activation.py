#!/usr/bin/env python
"""Activation of an integrity self-inspection campaign at province scale, run by hand (not in CI).
Results and the machine go in docs/benchmarks.md.

    DATABASE_URL=postgres://qinglian:qinglian@127.0.0.1:55500/qinglian_bench \\
        .venv/bin/python benchmarks/integrity_activation.py [--schools 12000] [--repeat 3]

Like benchmarks/run.py (whose province generator it uses) it DROPS and recreates the database named in
DATABASE_URL (the name must contain "bench"). It publishes 60 items of the two lists at the province
and 10 at every district, so each of the 12,000 schools has 70 applicable items, then measures, medians
of --repeat runs interleaved with their floor:

* campaign_activate (tracker.integrity.campaign_services) on a draft campaign over both lists:
  840,000 checks and 12,000 checklists, against one plain INSERT ... SELECT of the same 840,000
  (school, item) pairs from arrays (no tree walk, no conflict check), target <= 2x;
* a second activation of the same campaign (idempotent: it must create nothing), and the statements
  each activation sends (the same few, whatever the size: bulk, not row by row).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # sets the environment (production-like settings) before Django starts

PROVINCE_ITEMS = 60
DISTRICT_ITEMS = 10
TARGET = 2.0


def publish_items(province_id: int) -> None:
    bench.log(f"publishing {PROVINCE_ITEMS} province items and {DISTRICT_ITEMS} per district")
    bench.sql(
        """
        INSERT INTO tracker_listitem (unit_id, list, code, title, category, basis, created_at, updated_at)
        SELECT %s, CASE WHEN n <= 45 THEN 'micro_power' ELSE 'negative' END, format('P%%s', n),
               format('省清单事项 %%s', n), '权力运行', '', now(), now()
        FROM generate_series(1, %s) n
        """,
        [province_id, PROVINCE_ITEMS],
    )
    bench.sql(
        """
        INSERT INTO tracker_listitem (unit_id, list, code, title, category, basis, created_at, updated_at)
        SELECT d.id, 'micro_power', format('D%%s', n), format('区清单事项 %%s', n), '权力运行', '', now(), now()
        FROM tracker_unit d CROSS JOIN generate_series(1, %s) n
        WHERE d.code LIKE 'BENCH-C%%-D%%'
        """,
        [DISTRICT_ITEMS],
    )
    bench.vacuum("tracker_listitem")


def reset(campaign_id: int) -> None:
    bench.sql("TRUNCATE tracker_check, tracker_checklist CASCADE")
    bench.sql("UPDATE tracker_campaign SET status = 'draft', activated_at = NULL WHERE id = %s", [campaign_id])
    bench.vacuum("tracker_check", "tracker_checklist")
    bench.checkpoint()


def floor_params(campaign_id: int) -> tuple[str, dict]:
    """The same (school, item) pairs, given as arrays: each school with the province's items and its
    own district's."""
    rows = bench.fetch(
        """
        SELECT s.id, i.id FROM tracker_unit s
        JOIN tracker_listitem i
          ON i.unit_id = s.parent_id OR i.unit_id = (SELECT id FROM tracker_unit WHERE code = 'BENCH-P')
        WHERE s.kind = 'school' ORDER BY s.id, i.id
        """
    )
    statement = """
    INSERT INTO tracker_check (campaign_id, school_id, item_id, note, finding)
    SELECT %(campaign)s, p.school, p.item, '', ''
    FROM unnest(%(schools)s::bigint[], %(items)s::bigint[]) AS p(school, item)
    """
    return statement, {"campaign": campaign_id, "schools": [r[0] for r in rows], "items": [r[1] for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=12000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    bench.recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from tracker.integrity.campaign_services import campaign_activate, campaign_create
    from tracker.integrity.models import Campaign

    call_command("migrate", verbosity=0)
    province, _cycle, supervisor = bench.generate_province(args.schools, 1)
    publish_items(province.pk)
    campaign = campaign_create(
        actor=supervisor,
        authority=province,
        title="“两张清单”逐项自查 (bench)",
        lists=["micro_power", "negative"],
        due_at=timezone.now() + timedelta(days=30),
    )
    statement, params = floor_params(campaign.pk)
    expected = len(params["schools"])
    bench.log(f"{args.schools} schools x their applicable items = {expected} checks")

    floors, runs, agains, statements = [], [], [], []
    for i in range(args.repeat):
        reset(campaign.pk)
        seconds, inserted = bench.timed(lambda: bench.sql(statement, params))
        floors.append(seconds)
        bench.log(f"  floor {i + 1}/{args.repeat}: {seconds:.2f}s ({inserted} rows)")
        reset(campaign.pk)
        fresh = Campaign.objects.get(pk=campaign.pk)
        with CaptureQueriesContext(connection) as queries:
            seconds, created = bench.timed(lambda c=fresh: campaign_activate(actor=supervisor, campaign=c))
        statements.append(len(queries.captured_queries))
        runs.append(seconds)
        assert created == expected, (created, expected)
        checklists = bench.fetch("SELECT count(*) FROM tracker_checklist WHERE campaign_id = %s", [campaign.pk])[0][0]
        assert checklists == args.schools, checklists
        bench.log(
            f"  campaign_activate {i + 1}/{args.repeat}: {seconds:.2f}s ({created} checks, {checklists} checklists)"
        )
        seconds, again = bench.timed(lambda c=fresh: campaign_activate(actor=supervisor, campaign=c))
        assert again == 0, again
        agains.append(seconds)
        bench.log(f"  second activation {i + 1}/{args.repeat}: {seconds:.2f}s (0 checks)")

    floor, measured = statistics.median(floors), statistics.median(runs)
    ratio = measured / floor
    print()
    print(f"checks: {expected} ({args.schools} schools, {PROVINCE_ITEMS + DISTRICT_ITEMS} items each)")
    print(f"floor (plain INSERT ... SELECT from arrays): {floor:.2f}s")
    print(f"campaign_activate: {measured:.2f}s = {ratio:.2f}x the floor (target <= {TARGET}x)")
    print(f"second activation (nothing to create): {statistics.median(agains):.2f}s")
    print(f"statements per activation: {sorted(set(statements))}")
    print(f"peak RSS: {bench.rss_mb():.0f} MB")
    sys.exit(0 if ratio <= TARGET else 1)


if __name__ == "__main__":
    main()
