#!/usr/bin/env python
"""Time the dashboard overview over real HTTP, for every role, against the task table's GROUP BY floor
(issue 14: "overview for 12,000 schools over HTTP, as any role: <= 0.25x one GROUP BY over the task
table, measured in the same run"). Run by hand, never in CI:

    DATABASE_URL=postgres://postgres@127.0.0.1:55613/qinglian_http_bench \\
        .venv/bin/python benchmarks/overview_http.py --seed --schools 12000 --criteria 50 --repeat 9

With --seed it **drops and recreates** the database named in DATABASE_URL (the name must contain
`bench`), migrates it, runs `manage.py seed_demo --schools N --criteria C` (which ends with a rollup
rebuild), checks `rollups_verify`, runs the first sweep and checks `rollups_verify` again. It then puts
the generated district under a province and gives it its readers: a superuser, a province supervisor, the
district's supervisor and an inspector; starts gunicorn on loopback (config.wsgi, production-like
settings) and, in each round, times the floor (one `SELECT school_id, count(*) ... GROUP BY school_id`
with the overview's conditional counts, over the same tasks, in this process) and then one
`GET /api/v1/dashboards/overview/?cycle=` per role over a keep-alive HTTP connection (the whole body
read), nine times: "full" right after the shared cache was emptied and the parts stored in the database
deleted (nothing kept anywhere: built in full, as a new cycle's first read is), "emptied" right after the
shared cache alone was emptied (a Redis restart: the stored parts read back and patched), "warm" (the
kept document, revalidated), "scope" (the role's own document set aside, the cycle's parts kept: its first
read, cut from them), "tree" right after a write to the unit tree (a statement on
tracker_unit that changes no row: the tree's version moves, not the version of its facts, so the parts
are patched with nothing more read), "rename" right after one school (the writer's) was renamed (its name
toggled: the tree's facts are read again and the parts patched), "rename+warm" the same after this process
also warmed the kept parts as the worker does after a unit event (`overviews_warm`: the next request
finds the document kept), "write" right after one real task
transition through the service (`task_progress` by the school, in this process, committed; its school is
dirty until the worker runs the event's handlers, so the kept document is patched and served, not kept)
and "write+flush" after this process also ran the event's handlers as the worker would (`event_handle`:
the rollup flush and the flag rejudgement; the document is patched and kept). Each state is set up
`--pause` seconds after the previous response was read, so that what a response queued for after it
(tracker.reporting.after_response: keeping documents and parts) is done, as it is for a user who does
not ask again within a fraction of a second. Besides the four roles that read the whole district, a fifth reads part
of it: the supervisor of a unit created under the district holding a quarter of its schools (moved there
once, the first time). With several workers give them a shared cache, as production does
(`--cache-url redis://...`): this process empties it and sets documents aside there. Prints medians,
ratios to the floor's median, and a JSON summary. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
    "EMAIL_URL": "dummymail://",
    "CELERY_BROKER_URL": "memory://",
    "LOG_LEVEL": "WARNING",
}
os.environ.update(ENV)

from dashboards_ab import FLOOR_SQL  # noqa: E402 (the floor of the other dashboard benchmarks)

PYTHON = str(ROOT / ".venv" / "bin" / "python")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def manage(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, env=os.environ)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout.strip()


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the database name must contain 'bench'")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(schools: int, criteria: int) -> dict:
    log("migrating")
    manage("migrate", "-v", "0")
    log(f"seed_demo --schools {schools} --criteria {criteria}")
    seconds, output = manage("seed_demo", "--schools", str(schools), "--criteria", str(criteria))
    log(f"  {seconds:.1f} s: {output.splitlines()[-1] if output else ''}")
    result = {"seed_s": round(seconds, 1)}
    seconds, output = manage("rollups_verify")
    result["verify_after_seed"] = output
    result["verify_s"] = round(seconds, 1)
    log(f"rollups_verify after seeding: {output} ({seconds:.1f} s)")
    seconds, output = manage("sweep")
    result["first_sweep_s"] = round(seconds, 1)
    log(f"first sweep: {seconds:.1f} s")
    seconds, output = manage("rollups_verify")
    result["verify_after_sweep"] = output
    log(f"rollups_verify after the first sweep: {output} ({seconds:.1f} s)")
    seconds, output = manage("rollups_rebuild")
    result["rebuild_s"] = round(seconds, 1)
    log(f"rollups_rebuild alone: {seconds:.1f} s ({output})")
    return result


def readers() -> tuple[int, dict[str, str]]:
    """The generated district's cycle and a token per role (created once, kept in the database)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from tracker.models import Cycle, Membership, Role, Unit, UnitKind

    cycle = Cycle.objects.filter(authority__code__startswith="GEN").latest("pk")
    district = cycle.authority
    province, _ = Unit.objects.get_or_create(
        code="BENCH-PROV", defaults={"name": "Bench province", "kind": UnitKind.AUTHORITY}
    )
    if district.parent_id != province.pk:
        Unit.objects.filter(pk=district.pk).update(parent=province)
    users = get_user_model().objects
    roles: dict[str, object] = {}
    superuser, _ = users.get_or_create(username="bench-super", defaults={"is_superuser": True, "is_staff": True})
    roles["superuser"] = superuser
    part, created = Unit.objects.get_or_create(
        code="BENCH-PART",
        defaults={"name": "Bench part of the district", "kind": UnitKind.AUTHORITY, "parent": district},
    )
    if created:  # a quarter of the district's schools, moved under it once
        schools = Unit.objects.filter(parent=district, kind=UnitKind.SCHOOL).order_by("pk").values_list("pk", flat=True)
        ids = list(schools)
        Unit.objects.filter(pk__in=ids[: len(ids) // 4]).update(parent=part)
    for name, unit, role in (
        ("province supervisor", province, Role.SUPERVISOR),
        ("district supervisor", district, Role.SUPERVISOR),
        ("district inspector", district, Role.INSPECTOR),
        ("part supervisor", part, Role.SUPERVISOR),
    ):
        user, _ = users.get_or_create(username=f"bench-{name.replace(' ', '-')}")
        Membership.objects.get_or_create(user=user, unit=unit, role=role)
        roles[name] = user
    return cycle.pk, {name: AuthToken.objects.create(user)[1] for name, user in roles.items()}


def writer(cycle: int):
    """A task of the cycle the school may report progress on, and that school's account."""
    from django.contrib.auth import get_user_model

    from tracker.models import Membership, Role, Task, TaskStatus

    task = (
        Task.objects.filter(cycle_id=cycle, status__in=[TaskStatus.NOT_STARTED, TaskStatus.IN_PROGRESS])
        .order_by("pk")
        .first()
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-school")
    Membership.objects.get_or_create(user=user, unit_id=task.school_id, role=Role.SCHOOL)
    return task.pk, user


def write(task_id: int, user, progress: int) -> list[int]:
    """One task transition through the service, committed; the ids of the events it recorded."""
    from tracker.assessment.task_services import task_progress
    from tracker.models import EventDispatch

    before = EventDispatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    task_progress(task=task_id, actor=user, progress=progress)
    return list(EventDispatch.objects.filter(pk__gt=before).values_list("pk", flat=True))


def handle(dispatch_ids: list[int]) -> None:
    """What the worker does after commit: the events' handlers (rollup flush, flags)."""
    from tracker.audit.dispatch import event_handle

    for pk in dispatch_ids:
        event_handle(event_id=pk)


def serve(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=(ROOT / "var" / "overview_http_gunicorn.log").open("w"),
        start_new_session=True,
    )
    for _ in range(120):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("gunicorn did not answer /healthz")


def get(conn: http.client.HTTPConnection, path: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
    return elapsed, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", action="store_true", help="drop, migrate and seed the database first")
    parser.add_argument("--schools", type=int, default=12000)
    parser.add_argument("--criteria", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=9, help="rounds (medians)")
    parser.add_argument("--port", type=int, default=8613)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--pause", type=float, default=0.5, help="seconds between a response and the next state (work after it)"
    )
    parser.add_argument("--cache-url", default="locmemcache://", help="CACHE_URL of the server (shared: redis://)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if "bench" not in urlparse(url).path:
        raise SystemExit("DATABASE_URL must name a database whose name contains 'bench'")
    os.environ["CACHE_URL"] = args.cache_url
    summary: dict = {
        "workers": args.workers,
        "cache": args.cache_url.split(":")[0],
        "load_at_start": os.getloadavg(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if args.seed:
        recreate_database(url)
        summary.update(seed(args.schools, args.criteria))
    cycle, tokens = readers()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracker_task WHERE cycle_id = %s", [cycle])
        summary["tasks"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM tracker_schoolrollup WHERE round_id = %s AND round_kind = 1", [cycle])
        summary["rollup_rows"] = cursor.fetchone()[0]
    log(f"cycle {cycle}: {summary['tasks']} tasks, {summary['rollup_rows']} rollup rows; serving")
    server = serve(args.port, args.workers)
    # Per role: "full" right after the cache was emptied and the stored parts deleted (built in full),
    # "emptied" right after the cache alone was emptied (the stored parts patched), "warm" (kept), "scope" (its
    # document set aside, the cycle's parts kept: cut), "tree" right after a write to the unit tree that
    # changes no fact of the overview (patched), "rename" right after a school was renamed (the tree's facts
    # read again, the parts patched), "rename+warm" the same once the worker warmed the parts as it does
    # after a unit event (tracker.reporting.handlers), "write" right after a task transition (its school
    # dirty: patched), "write+flush" once its handlers ran (patched, kept).
    states = ("full", "emptied", "warm", "scope", "tree", "rename", "rename+warm", "write", "write+flush")
    from django.core.cache import cache

    from tracker.reporting import overview_cache
    from tracker.reporting.handlers import overviews_warm
    from tracker.scope import dashboard_access

    times: dict[str, list[float]] = {"floor": []}
    for role in tokens:
        for state in states:
            times[f"{role} {state}"] = []
    task_id, school_user = writer(cycle)
    from django.contrib.auth import get_user_model

    from tracker.models import OverviewParts, Task, Unit

    task_school = Task.objects.get(pk=task_id).school_id  # renamed back and forth ("rename")
    school_name, renamed = Unit.objects.get(pk=task_school).name.removesuffix(" (renamed)"), False
    keys = {}  # each role's document in the cache, by its scope
    for role in tokens:
        user = get_user_model().objects.get(
            username="bench-super" if role == "superuser" else f"bench-{role.replace(' ', '-')}"
        )
        roots = sorted(dashboard_access(user=user, cycle_id=cycle).roots)
        keys[role] = overview_cache.cache_key(cycle_id=cycle, unit_id=None, roots=roots)
    progress = 0
    sizes: dict[str, int] = {}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=300)
        path = f"/api/v1/dashboards/overview/?cycle={cycle}"
        for token in tokens.values():  # warm every worker's connection and caches once
            for _ in range(args.workers):
                get(conn, path, token)
        for n in range(args.repeat):
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(FLOOR_SQL, [cycle])
                cursor.fetchall()
            times["floor"].append(time.perf_counter() - started)
            for role, token in tokens.items():
                for state in states:
                    time.sleep(args.pause)  # what a response queued for after it is done (after_response)
                    if state == "full":
                        cache.clear()
                        OverviewParts.objects.all().delete()
                    elif state == "emptied":
                        cache.clear()
                    elif state == "scope":
                        cache.delete(f"{keys[role]}:meta")
                    elif state == "tree":
                        with connection.cursor() as cursor:
                            cursor.execute("UPDATE tracker_unit SET name = name WHERE false")
                    elif state in ("rename", "rename+warm"):
                        renamed = not renamed
                        Unit.objects.filter(pk=task_school).update(name=school_name + (" (renamed)" if renamed else ""))
                        if state == "rename+warm":  # what the worker does after a unit event (unit_update)
                            overviews_warm()
                    elif state == "write":
                        progress = progress % 99 + 1
                        pending = write(task_id, school_user, progress)
                    elif state == "write+flush":
                        handle(pending)
                    seconds, sizes[f"{role} {state}"] = get(conn, path, token)
                    times[f"{role} {state}"].append(seconds)
            log(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in times.items()))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    floor = statistics.median(times["floor"])
    summary["load_at_end"] = os.getloadavg()
    summary["floor_s"] = round(floor, 4)
    summary["overview"] = {
        name: {
            "median_s": round(statistics.median(times[name]), 4),
            "fastest_s": round(min(times[name]), 4),
            "ratio": round(statistics.median(times[name]) / floor, 3),
            "bytes": sizes[name],
        }
        for name in times
        if name != "floor"
    }
    print(f"\nfloor (GROUP BY school_id over {summary['tasks']} tasks): median {floor:.3f} s")
    print(f"{'role':<33} {'median':>8} {'fastest':>8} {'ratio':>7} {'bytes':>10}")
    for name, row in summary["overview"].items():
        print(f"{name:<33} {row['median_s']:>8.3f} {row['fastest_s']:>8.3f} {row['ratio']:>6.2f}x {row['bytes']:>10}")
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
