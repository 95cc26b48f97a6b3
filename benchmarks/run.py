#!/usr/bin/env python
"""Province-scale benchmark, run by hand (not in CI). Results and the machine go in docs/benchmarks.md.

    DATABASE_URL=postgres://qinglian:qinglian@127.0.0.1:55500/qinglian_bench \\
        .venv/bin/python benchmarks/run.py [--schools 12000] [--criteria 50] [--repeat 5]

It DROPS and recreates the database named in DATABASE_URL (whose name must contain "bench"), migrates
it, generates a province (1 province > 10 cities > 12 districts each > the schools, one school account
per school, one supervisor per authority) and one cycle of --criteria criteria, then measures, in one
run, each against its floor:

* cycle activation (tracker.assessment.cycle_services.cycle_activate) against one plain INSERT ... SELECT of the
  same rows (no tree walk, no conflict check), target <= 2x;
* the sweep (tracker.monitoring.sweep.sweep_run), after a realistic mix of statuses has been set, against one
  set-based pass in SQL that makes the same flags, reminders and notifications and builds the same
  per-recipient digests, target <= 3x;
* the overview endpoint (GET /api/v1/dashboards/overview/ through DRF's test client, as the province
  supervisor: every school), against the raw SQL floor: one GROUP BY over the task table computing
  the same per-school numbers, target <= 1.5x;
* peak memory of the process (ru_maxrss), target < 300 MB.

It also times the web app's dashboard page (GET /dashboard/?cycle= through Django's test client, logged in
as the province supervisor: totals, three charts and the first page of the 12,000-school ranking) beside
the overview endpoint, with --snapshots days of daily snapshots for every school (synthetic rows written
in one statement) so that its trend chart reads a realistic table.

Timings are medians of --repeat runs (activation: of --activation-repeat), floor and measured runs
interleaved. --explain prints EXPLAIN (ANALYZE, BUFFERS) of the overview's statement.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The bench runs the real settings with production-like switches: no DEBUG (no query log kept in
# memory), no e-mail output, an in-memory broker (events dispatched after commit go nowhere).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["DJANGO_DEBUG"] = "false"
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ["EMAIL_URL"] = "dummymail://"
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

TARGETS = {"overview": 1.5, "activation": 2.0, "sweep": 3.0}
MEMORY_TARGET_MB = 300
# Everything is judged at the real time of the run (the overview endpoint reads the clock), with the
# deadlines spread from 160 days before it to 180 days after it: about half of them have passed.
NOW = datetime.now(UTC).replace(microsecond=0)
ACTIVATED_AT = NOW - timedelta(days=170)
CITIES = 10
DISTRICTS_PER_CITY = 12


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# --- Database -------------------------------------------------------------------------------------------
def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the benchmark database's name must contain 'bench'")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def sql(statement: str, params: object = None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def fetch(statement: str, params: object = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def vacuum(*tables: str) -> None:
    for table in tables:
        sql(f"VACUUM (ANALYZE) {table}")


def checkpoint() -> None:
    sql("CHECKPOINT")


# --- Data ---------------------------------------------------------------------------------------------
def generate_province(schools: int, criteria: int):
    from tracker.models import Criterion, Cycle, Unit

    districts = CITIES * DISTRICTS_PER_CITY
    log(f"generating 1 province > {CITIES} cities > {districts} districts > {schools} schools")
    province = Unit.objects.create(name="浙江省教育厅 (bench)", code="BENCH-P", kind="authority")
    sql(
        """
        INSERT INTO tracker_unit (name, code, kind, parent_id, created_at)
        SELECT format('市教育局 %%s', c), format('BENCH-C%%s', c), 'authority', %s, now()
        FROM generate_series(1, %s) c
        """,
        [province.pk, CITIES],
    )
    sql(
        """
        INSERT INTO tracker_unit (name, code, kind, parent_id, created_at)
        SELECT format('区教育局 %%s-%%s', c.code, d), format('%%s-D%%s', c.code, d), 'authority', c.id, now()
        FROM tracker_unit c CROSS JOIN generate_series(1, %s) d
        WHERE c.parent_id = %s ORDER BY c.id, d
        """,
        [DISTRICTS_PER_CITY, province.pk],
    )
    # Schools spread evenly over the districts.
    sql(
        """
        WITH d AS (
            SELECT id, code, row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total
            FROM tracker_unit WHERE code LIKE 'BENCH-C%%-D%%'
        )
        INSERT INTO tracker_unit (name, code, kind, parent_id, created_at)
        SELECT format('第%%s中小学', s), format('BENCH-S%%s', s), 'school', d.id, now()
        FROM generate_series(0, %s - 1) s JOIN d ON d.n = s %% d.total
        ORDER BY s
        """,
        [schools],
    )
    # One school account per school, one supervisor per authority (all with an e-mail: digests).
    sql(
        """
        INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff,
                               is_active, date_joined)
        SELECT '!', false, 'acct-' || u.code, '', '', lower(u.code) || '@bench.invalid', false, true, now()
        FROM tracker_unit u WHERE u.code LIKE 'BENCH-%%'
        """
    )
    sql(
        """
        INSERT INTO tracker_membership (user_id, unit_id, role, language, created_at)
        SELECT a.id, u.id, CASE u.kind WHEN 'school' THEN 'school' ELSE 'supervisor' END, '', now()
        FROM tracker_unit u JOIN auth_user a ON a.username = 'acct-' || u.code
        """
    )
    cycle = Cycle.objects.create(
        authority=province, name="2026 清廉学校建设考评 (bench)", starts_on="2026-01-01", ends_on="2026-12-31"
    )
    first_due = NOW - timedelta(days=160)
    span = timedelta(days=340) / max(criteria - 1, 1)
    Criterion.objects.bulk_create(
        [
            Criterion(
                cycle=cycle,
                code=f"K{i + 1:02d}",
                title=f"考评标准 {i + 1}",
                category=["组织领导", "履职尽责", "作风建设", "权力运行", "一岗双责"][i % 5],
                due_at=first_due + span * i,
                max_score=[10, 20, 5, 15][i % 4],
                deduction_rules=[{"code": "D1", "description": "incomplete", "points": "2"}],
                late_penalty_per_day=1,
                late_penalty_cap=5,
            )
            for i in range(criteria)
        ]
    )
    from django.contrib.auth import get_user_model

    supervisor = get_user_model().objects.get(username="acct-BENCH-P")
    vacuum("tracker_unit", "auth_user", "tracker_membership", "tracker_criterion")
    return province, cycle, supervisor


def reset_tasks(cycle) -> None:
    # Tasks and everything hanging off them; the cycle back to draft.
    sql(
        "TRUNCATE tracker_task, tracker_evidence, tracker_event, tracker_eventdispatch, tracker_reminder, "
        "tracker_notification, tracker_webhookdelivery, tracker_flag CASCADE"
    )
    sql("UPDATE tracker_eventchainhead SET last_hash = repeat('0', 64), count = 0")
    sql("UPDATE tracker_cycle SET status = 'draft', activated_at = NULL WHERE id = %s", [cycle.pk])
    vacuum("tracker_task")
    checkpoint()


BULK_INSERT_SQL = """
INSERT INTO tracker_task (cycle_id, criterion_id, school_id, status, due_at, has_own_due, original_due_at,
                          due_set_at, extensions, progress, note, deductions, review_comment, return_reason,
                          updated_at)
SELECT %(cycle)s, c.id, s.id, 'not_started', c.due_at, false, c.due_at, %(now)s, 0, 0, '', '[]', '', '', %(now)s
FROM unnest(%(schools)s::bigint[]) AS s(id)
CROSS JOIN (SELECT * FROM unnest(%(criteria)s::bigint[], %(dues)s::timestamptz[])) AS c(id, due_at)
ORDER BY s.id, c.id
"""


def bench_activation(cycle, supervisor, repeat: int) -> dict:
    from tracker.assessment.cycle_services import cycle_activate
    from tracker.models import Cycle

    schools = [r[0] for r in fetch("SELECT id FROM tracker_unit WHERE kind = 'school' ORDER BY id")]
    crit = fetch("SELECT id, due_at FROM tracker_criterion WHERE cycle_id = %s ORDER BY id", [cycle.pk])
    params = {
        "cycle": cycle.pk,
        "now": ACTIVATED_AT,
        "schools": schools,
        "criteria": [c[0] for c in crit],
        "dues": [c[1] for c in crit],
    }
    floors, runs = [], []
    created = 0
    for i in range(repeat):
        reset_tasks(cycle)
        seconds, inserted = timed(lambda: sql(BULK_INSERT_SQL, params))
        floors.append(seconds)
        log(f"  bulk insert {i + 1}/{repeat}: {seconds:.2f}s ({inserted} rows)")
        reset_tasks(cycle)
        fresh = Cycle.objects.get(pk=cycle.pk)
        seconds, created = timed(lambda c=fresh: cycle_activate(actor=supervisor, cycle=c, now=ACTIVATED_AT))
        runs.append(seconds)
        log(f"  cycle_activate {i + 1}/{repeat}: {seconds:.2f}s ({created} tasks)")
    assert created == len(schools) * len(crit), (created, len(schools), len(crit))
    return {"floor": statistics.median(floors), "measured": statistics.median(runs), "rows": created}


STATUS_MIX_SQL = """
WITH school AS (SELECT id, random() AS bias FROM tracker_unit WHERE kind = 'school'),
draw AS (
    SELECT t.id, t.due_at, c.max_score, 0.75 * random() + 0.25 * school.bias AS r, random() AS r2,
           random() AS r3, t.due_at < %(now)s AS passed
    FROM tracker_task t JOIN school ON school.id = t.school_id JOIN tracker_criterion c ON c.id = t.criterion_id
    WHERE t.cycle_id = %(cycle)s
),
picked AS (
    SELECT id, due_at, max_score, r2, r3, CASE
        WHEN passed THEN CASE WHEN r < .72 THEN 'approved' WHEN r < .80 THEN 'submitted'
                              WHEN r < .83 THEN 'returned' WHEN r < .90 THEN 'in_progress' ELSE 'not_started' END
        ELSE CASE WHEN r < .10 THEN 'approved' WHEN r < .16 THEN 'submitted'
                  WHEN r < .40 THEN 'in_progress' ELSE 'not_started' END
        END AS status
    FROM draw
),
timed AS (
    SELECT *, LEAST(%(now)s - interval '1 hour', CASE
        WHEN r2 < .85 THEN due_at - r2 * interval '20 days'        -- on time
        ELSE due_at + (r2 - .85) * interval '60 days'             -- up to 9 days late
        END) AS submitted_at
    FROM picked
)
UPDATE tracker_task t SET
    status = timed.status,
    progress = CASE timed.status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 10 + floor(timed.r3 * 80)
                                 ELSE 100 END,
    submitted_at = CASE WHEN timed.status IN ('submitted', 'approved', 'returned') THEN timed.submitted_at END,
    submitted_due_at = CASE WHEN timed.status IN ('submitted', 'approved', 'returned') THEN timed.due_at END,
    reviewed_at = CASE WHEN timed.status IN ('approved', 'returned')
                       THEN LEAST(%(now)s - interval '30 minutes', timed.submitted_at + interval '2 days') END,
    score = CASE WHEN timed.status = 'approved' THEN round((timed.max_score * (0.6 + 0.4 * timed.r3))::numeric, 2) END,
    -- Some returned or lagging tasks got their own, later, due time: an extension, granted 5 days before
    -- the original one (or yesterday); early warning measures their progress from then.
    due_at = CASE WHEN timed.status IN ('returned', 'in_progress') AND timed.r3 < .3
                  THEN timed.due_at + interval '30 days' ELSE timed.due_at END,
    has_own_due = timed.status IN ('returned', 'in_progress') AND timed.r3 < .3,
    extensions = CASE WHEN timed.status IN ('returned', 'in_progress') AND timed.r3 < .3 THEN 1 ELSE 0 END,
    due_set_at = CASE WHEN timed.status IN ('returned', 'in_progress') AND timed.r3 < .3
                      THEN LEAST(%(now)s - interval '1 day', timed.due_at - interval '5 days')
                      ELSE t.due_set_at END,
    -- What the services stamp: the time of the task's latest event (EVENTS_SQL below, checked there).
    last_activity_at = CASE timed.status
        WHEN 'not_started' THEN NULL
        WHEN 'submitted' THEN timed.submitted_at
        WHEN 'in_progress' THEN %(now)s - interval '8 days'
        ELSE LEAST(%(now)s - interval '30 minutes', timed.submitted_at + interval '2 days') END
FROM timed WHERE t.id = timed.id
"""

# One to three events per task the school worked on (the audit trail the services write with every
# transition); the chain's hashes are stand-ins: the benchmark does not verify the chain.
EVENTS_SQL = """
INSERT INTO tracker_event (type, occurred_at, actor_id, cycle_id, school_id, task_id, subject_type, subject_id,
                           data, prev_hash, hash)
SELECT e.type, e.at, NULL, t.cycle_id, t.school_id, t.id, 'task', t.id::text, '{}'::jsonb,
       md5(t.id::text || e.type) || md5(e.type), md5(t.id::text || e.type || 'h') || md5(t.id::text)
FROM tracker_task t
CROSS JOIN LATERAL (VALUES
    ('task.progressed', COALESCE(t.submitted_at, %(now)s - interval '3 days') - interval '5 days'),
    ('task.submitted', t.submitted_at),
    ('task.approved', t.reviewed_at)
) AS e(type, at)
WHERE t.status <> 'not_started' AND e.at IS NOT NULL
"""


def set_status_mix(cycle) -> dict:
    log("setting a realistic mix of statuses, scores, submissions and events")
    sql("SELECT setseed(0.42)")
    sql(STATUS_MIX_SQL, {"now": NOW, "cycle": cycle.pk})
    sql("UPDATE tracker_cycle SET status = 'active' WHERE id = %s", [cycle.pk])
    events = sql(EVENTS_SQL, {"now": NOW})
    vacuum("tracker_task", "tracker_event")
    # Task.last_activity_at as set above must be what the migration's backfill derives from the events.
    differ = fetch(
        """
        SELECT count(*) FROM tracker_task t
        LEFT JOIN (SELECT task_id, max(occurred_at) AS at FROM tracker_event GROUP BY task_id) e ON e.task_id = t.id
        WHERE t.last_activity_at IS DISTINCT FROM e.at
        """
    )[0][0]
    assert differ == 0, f"{differ} tasks' last_activity_at differ from their latest event"
    mix = dict(fetch("SELECT status, count(*) FROM tracker_task GROUP BY status ORDER BY status"))
    overdue = fetch(
        "SELECT count(*) FROM tracker_task WHERE status IN ('not_started', 'in_progress', 'returned') AND due_at < %s",
        [NOW],
    )[0][0]
    log(f"  statuses {mix}; overdue {overdue}; events {events}")
    return {"statuses": mix, "overdue": overdue, "events": events}


# --- Sweep ----------------------------------------------------------------------------------------------
SWEEP_FLOOR_SQL = [
    # 1. Judge every school: open (or update) one flag per lagging school.
    """
    INSERT INTO tracker_flag (cycle_id, school_id, severity, overdue_count, max_days_overdue, opened_at,
                              escalated_at)
    SELECT cycle_id, school_id, severity, n, days, %(now)s, CASE WHEN severity = 'critical' THEN %(now)s END
    FROM (
        SELECT t.cycle_id, t.school_id, count(*) AS n,
               floor(extract(epoch FROM %(now)s - min(t.due_at)) / 86400)::int AS days,
               CASE WHEN count(*) >= 3 OR floor(extract(epoch FROM %(now)s - min(t.due_at)) / 86400) >= 7
                    THEN 'critical' ELSE 'warning' END AS severity
        FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id AND c.status = 'active'
        WHERE t.status IN ('not_started', 'in_progress', 'returned') AND t.due_at < %(now)s
        GROUP BY t.cycle_id, t.school_id
    ) lagging
    ON CONFLICT (cycle_id, school_id) WHERE resolved_at IS NULL DO UPDATE
    SET severity = EXCLUDED.severity, overdue_count = EXCLUDED.overdue_count,
        max_days_overdue = EXCLUDED.max_days_overdue
    """,
    # 2. The latest stage reached per task and kind, once: compared with a snapshot of what was sent
    # before (a hash anti-join; probing the table being inserted into would be quadratic).
    """
    WITH sent AS MATERIALIZED (
        SELECT task_id, due_at, kind, max(stage) AS stage FROM tracker_reminder
        WHERE task_id IS NOT NULL GROUP BY task_id, due_at, kind
    )
    INSERT INTO tracker_reminder (kind, task_id, stage, due_at, created_at)
    SELECT s.kind, s.task_id, s.stage, s.due_at, %(now)s
    FROM (
        SELECT 'due_soon' AS kind, t.id AS task_id, t.due_at,
               CASE WHEN t.due_at <= %(now)s + interval '1 day' THEN -1 ELSE -7 END AS stage
        FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id AND c.status = 'active'
        WHERE t.status IN ('not_started', 'in_progress', 'returned')
          AND t.due_at >= %(now)s AND t.due_at <= %(now)s + interval '7 days'
        UNION ALL
        SELECT 'overdue', t.id, t.due_at,
               (floor(extract(epoch FROM %(now)s - t.due_at) / 86400)::int / 3) * 3
        FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id AND c.status = 'active'
        WHERE t.status IN ('not_started', 'in_progress', 'returned') AND t.due_at < %(now)s
        UNION ALL
        SELECT 'escalation', t.id, t.due_at, 7
        FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id AND c.status = 'active'
        WHERE t.status IN ('not_started', 'in_progress', 'returned') AND t.due_at <= %(now)s - interval '7 days'
        UNION ALL
        -- Early warning (section 7): due within 14 days, 30 points behind the expected progress or
        -- untouched for 14 days.
        SELECT 'at_risk', t.id, t.due_at, 0
        FROM tracker_task t JOIN tracker_cycle c ON c.id = t.cycle_id AND c.status = 'active'
        WHERE t.status IN ('not_started', 'in_progress', 'returned')
          AND t.due_at >= %(now)s AND t.due_at <= %(now)s + interval '14 days'
          AND ((t.due_set_at < %(now)s AND (t.progress + 30) * extract(epoch FROM t.due_at - t.due_set_at)
                                          < 100 * extract(epoch FROM %(now)s - t.due_set_at))
               OR (t.due_set_at <= %(now)s - interval '14 days'
                   AND (t.last_activity_at IS NULL OR t.last_activity_at <= %(now)s - interval '14 days')))
    ) s
    LEFT JOIN sent ON sent.task_id = s.task_id AND sent.due_at = s.due_at AND sent.kind = s.kind
    WHERE sent.task_id IS NULL OR sent.stage < s.stage
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO tracker_reminder (kind, flag_id, stage, created_at)
    SELECT 'flag_opened', f.id, 0, %(now)s FROM tracker_flag f WHERE f.resolved_at IS NULL
    UNION ALL
    SELECT 'flag_critical', f.id, 0, %(now)s FROM tracker_flag f
    WHERE f.resolved_at IS NULL AND f.escalated_at IS NOT NULL
    ON CONFLICT DO NOTHING
    """,
    # 3. In-app notifications: school accounts, and the supervisors of the nearest authority.
    """
    INSERT INTO tracker_notification (recipient_id, kind, title, body, task_id, school_id, cycle_id, reminder_id,
                                      created_at)
    SELECT m.user_id, r.kind, format('%%s: %%s %%s', s.name, c.code, r.kind),
           format('%%s is due on %%s (stage %%s)', c.title, t.due_at, r.stage), t.id, t.school_id, t.cycle_id,
           r.id, %(now)s
    FROM tracker_reminder r JOIN tracker_task t ON t.id = r.task_id
    JOIN tracker_criterion c ON c.id = t.criterion_id JOIN tracker_unit s ON s.id = t.school_id
    -- the audience as rows (unit, role), so that the membership join is an equality the planner can hash
    JOIN LATERAL (VALUES (s.id, 'school'), (s.parent_id, 'supervisor')) AS who(unit_id, role)
      ON (who.role = 'school' AND r.kind IN ('due_soon', 'overdue', 'at_risk'))
      OR (who.role = 'supervisor' AND r.kind = 'escalation')
    JOIN tracker_membership m ON m.unit_id = who.unit_id AND m.role = who.role
    WHERE r.created_at = %(now)s
    UNION ALL
    SELECT m.user_id, r.kind, format('%%s: %%s', s.name, r.kind),
           format('%%s overdue task(s), up to %%s days', f.overdue_count, f.max_days_overdue), NULL, f.school_id,
           f.cycle_id, r.id, %(now)s
    FROM tracker_reminder r JOIN tracker_flag f ON f.id = r.flag_id JOIN tracker_unit s ON s.id = f.school_id
    CROSS JOIN LATERAL (VALUES (s.id, 'school'), (s.parent_id, 'supervisor')) AS who(unit_id, role)
    JOIN tracker_membership m ON m.unit_id = who.unit_id AND m.role = who.role
    WHERE r.created_at = %(now)s
    ON CONFLICT DO NOTHING
    """,
]

# 4. One digest per recipient (what the sweep e-mails), built in SQL and marked as mailed.
SWEEP_FLOOR_DIGESTS = """
WITH mailed AS (
    UPDATE tracker_notification SET emailed_at = %(now)s WHERE emailed_at IS NULL
    RETURNING recipient_id, title
)
SELECT u.email, count(*), string_agg(m.title, E'\\n')
FROM mailed m JOIN auth_user u ON u.id = m.recipient_id GROUP BY u.email
"""


def sweep_floor() -> dict:
    from django.db import transaction

    params = {"now": NOW}
    with transaction.atomic():
        flags = sql(SWEEP_FLOOR_SQL[0], params)
        reminders = sql(SWEEP_FLOOR_SQL[1], params) + sql(SWEEP_FLOOR_SQL[2], params)
        notifications = sql(SWEEP_FLOOR_SQL[3], params)
        digests = len(fetch(SWEEP_FLOOR_DIGESTS, params))
    return {"flags": flags, "reminders": reminders, "notifications": notifications, "emails": digests}


def reset_sweep() -> None:
    sql("TRUNCATE tracker_notification, tracker_reminder, tracker_webhookdelivery, tracker_flag CASCADE")
    # The flag events of a previous run stay (the table is append-only); they change no decision.
    vacuum("tracker_flag", "tracker_reminder", "tracker_notification")
    checkpoint()


def bench_sweep(repeat: int) -> dict:
    try:
        from tracker.monitoring.sweep import sweep_run
    except ImportError as exc:  # the sweep belongs to another issue
        log(f"  SWEEP NOT MEASURED: tracker.monitoring.sweep.sweep_run is not importable ({exc})")
        return {"skipped": str(exc)}
    floors, runs = [], []
    floor_counts: dict = {}
    report = None
    for i in range(repeat):
        reset_sweep()
        seconds, floor_counts = timed(sweep_floor)
        floors.append(seconds)
        log(f"  set-based pass {i + 1}/{repeat}: {seconds:.2f}s {floor_counts}")
        reset_sweep()
        seconds, report = timed(lambda: sweep_run(now=NOW))
        runs.append(seconds)
        log(f"  sweep_run {i + 1}/{repeat}: {seconds:.2f}s {report}")
    sweep_counts = {
        "flags": report.flags_opened,
        "reminders": report.reminders,
        "notifications": report.notifications,
        "emails": report.emails,
    }
    vacuum("tracker_flag", "tracker_reminder", "tracker_notification")
    return {
        "floor": statistics.median(floors),
        "measured": statistics.median(runs),
        "floor_counts": floor_counts,
        "sweep_counts": sweep_counts,
    }


# --- Overview -------------------------------------------------------------------------------------------
OVERVIEW_FLOOR_SQL = """
SELECT school_id, count(*),
       count(*) FILTER (WHERE status = 'approved'), count(*) FILTER (WHERE status = 'submitted'),
       count(*) FILTER (WHERE status = 'in_progress'), count(*) FILTER (WHERE status = 'not_started'),
       count(*) FILTER (WHERE status = 'returned'),
       count(*) FILTER (WHERE status IN ('not_started', 'in_progress', 'returned') AND due_at < %(now)s),
       count(*) FILTER (WHERE due_at < %(now)s),
       count(*) FILTER (WHERE due_at < %(now)s AND submitted_at <= submitted_due_at),
       count(*) FILTER (WHERE original_due_at < %(now)s),
       count(*) FILTER (WHERE original_due_at < %(now)s AND submitted_at <= original_due_at),
       count(*) FILTER (WHERE status IN ('not_started', 'in_progress', 'returned')
                          AND due_at >= %(now)s AND due_at <= %(now)s + interval '14 days'
                          AND ((due_set_at < %(now)s AND (progress + 30) * extract(epoch FROM due_at - due_set_at)
                                                         < 100 * extract(epoch FROM %(now)s - due_set_at))
                               OR (due_set_at <= %(now)s - interval '14 days'
                                   AND (last_activity_at IS NULL
                                        OR last_activity_at <= %(now)s - interval '14 days')))),
       sum(extensions),
       sum(score)
FROM tracker_task WHERE cycle_id = %(cycle)s GROUP BY school_id
"""

BARE_FLOOR_SQL = "SELECT school_id, count(*) FROM tracker_task WHERE cycle_id = %(cycle)s GROUP BY school_id"


def explain_analyze(statement: str, params: object, *, dashboard_settings: bool) -> str:
    """EXPLAIN (ANALYZE, BUFFERS), with the session settings the dashboards use (local time; JIT is off
    for every connection of the app, config/settings/base.py)."""
    from django.conf import settings
    from django.db import transaction

    with transaction.atomic():
        if dashboard_settings:
            sql("SELECT set_config('TimeZone', %s, true)", [settings.TIME_ZONE])
        rows = fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
    return "\n".join(r[0] for r in rows)


def generate_snapshots(cycle, days: int) -> int:
    """`days` daily snapshots of every school of the cycle, ending today: synthetic counts that grow day by
    day, written in one statement (the trend chart reads them; their values do not matter to its cost)."""
    return sql(
        """
        INSERT INTO tracker_dailysnapshot (cycle_id, school_id, date, tasks, approved, submitted, overdue,
                                           due_passed, on_time, score)
        SELECT %(cycle)s, u.id, (now() AT TIME ZONE 'Asia/Shanghai')::date - d, %(criteria)s,
               (%(criteria)s * (%(days)s - d)) / (2 * %(days)s), 2, (u.id + d) %% 5,
               (%(criteria)s * (%(days)s - d)) / %(days)s / 2, (%(criteria)s * (%(days)s - d)) / %(days)s / 3,
               (%(criteria)s * (%(days)s - d)) / %(days)s
        FROM tracker_unit u CROSS JOIN generate_series(0, %(days)s - 1) d
        WHERE u.kind = 'school' AND u.code LIKE 'BENCH-S%%'
        """,
        {"cycle": cycle.pk, "days": days, "criteria": cycle.criteria.count()},
    )


def bench_web_dashboard(cycle, province, supervisor) -> dict:
    """The web dashboard page beside the endpoint: server time (median of 5) and the page's size."""
    from django.test import Client

    page = Client()
    page.force_login(supervisor)
    results = {}
    for name, path in [
        ("web /dashboard/ (every school: ranking page 1 of 240, 3 charts)", f"/dashboard/?cycle={cycle.pk}"),
        ("web /dashboard/?unit=province (10 cities)", f"/dashboard/?cycle={cycle.pk}&unit={province.pk}"),
    ]:
        response = page.get(path)
        assert response.status_code == 200, response.content[:500]
        seconds = statistics.median(timed(lambda p=path: page.get(p))[0] for _ in range(5))
        results[name] = (seconds, len(response.content))
        log(f"  {name}: {seconds * 1000:.0f} ms, {len(response.content) / 1024:.0f} KiB")
    return results


def bench_overview(cycle, province, supervisor, repeat: int, explain: bool) -> dict:
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=supervisor)
    url = f"/api/v1/dashboards/overview/?cycle={cycle.pk}"
    params = {"now": NOW, "cycle": cycle.pk}

    def endpoint():
        response = client.get(url)
        assert response.status_code == 200, response.content[:500]
        return response

    # The endpoint judges at the real time; the floor at NOW, the start of the run: the same day.
    response = endpoint()  # warm-up: connections, caches, plans
    body = response.json()
    fetch(OVERVIEW_FLOOR_SQL, params)
    floors, bare, runs = [], [], []
    for _ in range(repeat):
        seconds, _rows = timed(lambda: fetch(OVERVIEW_FLOOR_SQL, params))
        floors.append(seconds)
        bare.append(timed(lambda: fetch(BARE_FLOOR_SQL, params))[0])
        seconds, response = timed(endpoint)
        runs.append(seconds)
        log(f"  floor {floors[-1] * 1000:.0f} ms, bare {bare[-1] * 1000:.0f} ms, endpoint {seconds * 1000:.0f} ms")
    size = len(response.content)
    extra = {}
    for name, path in [
        ("rollup per city (?unit=province)", f"/api/v1/dashboards/overview/?cycle={cycle.pk}&unit={province.pk}"),
        ("criteria view", f"/api/v1/dashboards/criteria/?cycle={cycle.pk}"),
        ("overview.csv", f"/api/v1/exports/overview.csv?cycle={cycle.pk}"),
        ("overview.xlsx (+ criteria sheet)", f"/api/v1/exports/overview.xlsx?cycle={cycle.pk}"),
    ]:
        client.get(path)
        extra[name] = statistics.median(timed(lambda p=path: client.get(p))[0] for _ in range(3))
    # Python heap of one overview request (tracemalloc slows Python down: not used for timing).
    tracemalloc.start()
    endpoint()
    heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    plan = floor_plan = ""
    if explain:
        captured: list[tuple[float, str, object]] = []

        def capture(execute, statement, params_, many, context):
            start = time.perf_counter()
            result = execute(statement, params_, many, context)
            captured.append((time.perf_counter() - start, statement, params_))
            return result

        with connection.execute_wrapper(capture):
            endpoint()
        _, statement, statement_params = max(captured, key=lambda c: c[0])
        plan = explain_analyze(statement, statement_params, dashboard_settings=True)
        floor_plan = explain_analyze(OVERVIEW_FLOOR_SQL, params, dashboard_settings=False)
    return {
        "floor": statistics.median(floors),
        "bare_floor": statistics.median(bare),
        "measured": statistics.median(runs),
        "schools": len(body["schools"]),
        "tasks": body["totals"]["tasks"],
        "bytes": size,
        "extra": extra,
        "heap_peak_mb": heap_peak,
        "plan": plan,
        "floor_plan": floor_plan,
    }


# --- Main -----------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=12000)
    parser.add_argument("--criteria", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the overview (median)")
    parser.add_argument("--activation-repeat", type=int, default=3)
    parser.add_argument("--sweep-repeat", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the overview")
    parser.add_argument("--snapshots", type=int, default=90, help="days of daily snapshots for the web dashboard")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")

    started = time.perf_counter()
    load_at_start = os.getloadavg()
    log(f"recreating {urlsplit(url).path.lstrip('/')} and migrating")
    recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    province, cycle, supervisor = generate_province(args.schools, args.criteria)
    tasks = args.schools * args.criteria
    log(f"cycle activation: {tasks} tasks, against one plain INSERT ... SELECT of the same rows")
    activation = bench_activation(cycle, supervisor, args.activation_repeat)
    log(f"  peak RSS so far {rss_mb():.0f} MB")
    mix = set_status_mix(cycle)
    log("sweep, against one set-based pass")
    sweep = bench_sweep(args.sweep_repeat)
    log(f"  peak RSS so far {rss_mb():.0f} MB")
    log("overview endpoint (every school, as the province supervisor), against the GROUP BY floor")
    overview = bench_overview(cycle, province, supervisor, args.repeat, args.explain)
    log(f"web dashboard page, with {args.snapshots} days of daily snapshots of every school")
    snapshot_rows = generate_snapshots(cycle, args.snapshots)
    vacuum("tracker_dailysnapshot")
    web = bench_web_dashboard(cycle, province, supervisor)
    peak = rss_mb()

    def verdict(name: str, result: dict) -> str:
        if "skipped" in result:
            return f"{name:<12} NOT MEASURED: {result['skipped']}"
        ratio = result["measured"] / result["floor"]
        ok = "ok" if ratio <= TARGETS[name] else "MISSED"
        return (
            f"{name:<12} {result['measured']:8.3f} s vs floor {result['floor']:8.3f} s = {ratio:5.2f}x "
            f"(target <= {TARGETS[name]}x: {ok})"
        )

    print()
    print(f"== Results: {args.schools} schools x {args.criteria} criteria = {tasks} tasks ==")
    print(f"status mix: {mix['statuses']}, overdue {mix['overdue']}, events {mix['events']}")
    print(verdict("overview", overview))
    print(
        f"{'':<12} bare GROUP BY count(*) {overview['bare_floor']:.3f} s; "
        f"response {overview['bytes'] / 2**20:.1f} MiB, {overview['schools']} rows; "
        f"Python heap peak of one request {overview['heap_peak_mb']:.0f} MiB"
    )
    for name, seconds in overview["extra"].items():
        print(f"{'':<12} {name}: {seconds:.3f} s")
    print(f"{'web page':<12} with {snapshot_rows} daily snapshots ({args.snapshots} days x every school):")
    for name, (seconds, size) in web.items():
        print(f"{'':<12} {name}: {seconds:.3f} s, {size / 1024:.0f} KiB")
    print(verdict("activation", activation))
    print(verdict("sweep", sweep))
    if "skipped" not in sweep:
        print(f"{'':<12} sweep made {sweep['sweep_counts']}; the set-based pass made {sweep['floor_counts']}")
    memory_ok = "ok" if peak < MEMORY_TARGET_MB else "MISSED"
    print(f"{'memory':<12} peak RSS {peak:.0f} MB (target < {MEMORY_TARGET_MB} MB: {memory_ok})")
    print(f"total run time {time.perf_counter() - started:.0f} s")
    print(f"load average at the end (1, 5, 15 min): {os.getloadavg()}; at the start: {load_at_start}")
    if overview["plan"]:
        print("\n== EXPLAIN (ANALYZE, BUFFERS) of the overview's main statement ==")
        print(overview["plan"])
        print("\n== EXPLAIN (ANALYZE, BUFFERS) of the floor ==")
        print(overview["floor_plan"])


if __name__ == "__main__":
    main()
