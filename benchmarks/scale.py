#!/usr/bin/env python
"""The 2.5-million-task district (issue 14, item 4), run by hand (not in CI). Results and the machine go in
docs/benchmarks.md.

    DATABASE_URL=postgres://qinglian:qinglian@127.0.0.1:55530/qinglian_scale_bench \\
        .venv/bin/python benchmarks/scale.py [--schools 50000] [--criteria 50] [--workers 0,1,4]

It DROPS and recreates the database named in DATABASE_URL (whose name must contain "bench") and its
copies `<name>_w<K>`, then measures, each step in a process of its own so that its peak RSS is its own:

1. `manage.py migrate`, then `manage.py seed_demo --schools N --criteria C`: wall time and peak RSS
   (the child's ru_maxrss);
2. the first sweep of the seeded data, on a copy of the database per variant (CREATE DATABASE ...
   TEMPLATE, so each sweep is the first): `--workers 0` is `manage.py sweep` in one process; K >= 1 is
   beat's `tracker.sweep` sent to one `celery -A config worker -c K` (prefork: K pool processes) on a
   Redis of its own, timed from the message to the run's closing step, with the peak RSS (VmHWM) of
   the worker's main process and of each pool process;
3. on the copy of the last variant, after its sweep, as the district's supervisor (and the overview as
   a superuser too), through DRF's test client, each endpoint in a fresh process: the overview, the
   criteria view and the four exports, `--repeat` runs after a warm-up (median), with the process's
   peak RSS and the Python heap's peak for one request (tracemalloc); and the floor of issue 14, one
   `GROUP BY school_id` over the task table.

The 1-minute load average is logged at every step: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CELERY = str(Path(sys.executable).parent / "celery")

# Production-like switches for every child: no DEBUG (no query log in memory), no e-mail output.
CHILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(50),
    "EMAIL_URL": "dummymail://",
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
}
FLOOR_SQL = """
SELECT school_id, count(*), count(*) FILTER (WHERE status = 'approved'), sum(score)
FROM tracker_task WHERE cycle_id = %s GROUP BY school_id
"""


def log(message: str) -> None:
    load = os.getloadavg()[0]
    print(f"[{time.strftime('%H:%M:%S')} load {load:.1f}] {message}", flush=True)


def with_db(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def db_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def admin_sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def query(url: str, statement: str, params: object = None) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).fetchall()


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a child to its end: (seconds, peak RSS in MB, exit status)."""
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, process.returncode


def child_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(CHILD_ENV, DATABASE_URL=url, **extra)
    return env


def counts(url: str) -> dict[str, object]:
    [(tasks,)] = query(url, "SELECT count(*) FROM tracker_task")
    statuses = dict(query(url, "SELECT status, count(*) FROM tracker_task GROUP BY status ORDER BY status"))
    [(flags, reminders, notifications, emailed)] = query(
        url,
        "SELECT (SELECT count(*) FROM tracker_flag WHERE resolved_at IS NULL), (SELECT count(*) FROM tracker_reminder),"
        " (SELECT count(*) FROM tracker_notification),"
        " (SELECT count(*) FROM tracker_notification WHERE emailed_at IS NOT NULL)",
    )
    [(size,)] = query(url, "SELECT pg_size_pretty(pg_database_size(current_database()))")
    return {
        "tasks": tasks,
        "statuses": statuses,
        "open_flags": flags,
        "reminders": reminders,
        "notifications": notifications,
        "notifications_emailed": emailed,
        "database_size": size,
    }


# --- Processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return sorted(found)


def wait_for(predicate, *, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server") or sys.exit("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def sweep_with_workers(url: str, concurrency: int, workdir: Path) -> dict[str, object]:
    """The first sweep, fanned out by beat's task to one worker of `concurrency` pool processes."""
    redis = Redis(workdir)
    logfile = workdir / f"worker-c{concurrency}.log"
    env = child_env(url, CELERY_BROKER_URL=redis.url, DATABASE_CONN_MAX_AGE="60")
    args = [CELERY, "-A", "config", "worker", "-P", "prefork", "-c", str(concurrency), "--loglevel=INFO"]
    args += ["-n", f"bench-c{concurrency}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat"]
    with logfile.open("wb") as out:
        worker = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: " ready." in logfile.read_text(errors="replace"), timeout=120, what="the worker")
        from celery import Celery

        app = Celery(broker=redis.url)
        start = time.perf_counter()
        app.send_task("tracker.sweep")
        report = wait_for(
            lambda: query(url, "SELECT report FROM tracker_sweeprun WHERE report::text <> '{}'"),
            timeout=3 * 3600,
            what="the sweep's closing step",
        )[0][0]
        seconds = time.perf_counter() - start
        [(shards, first, last, closed)] = query(
            url,
            "SELECT r.shard_count, min(s.done_at), max(s.done_at), r.closed_at FROM tracker_sweeprun r "
            "JOIN tracker_sweepshard s ON s.run_id = r.id GROUP BY r.id",
        )
        pool = {pid: peak_rss_mb(pid) for pid in children(worker.pid)}
        main = peak_rss_mb(worker.pid)
        attempts = query(url, "SELECT sum(attempts) FROM tracker_sweepshard")[0][0]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
        redis.stop()
    return {
        "seconds": seconds,
        "shards": shards,
        "shard_runs": attempts,
        "shards_done_between_s": (last - first).total_seconds(),
        "close_step_s": (closed - last).total_seconds(),
        "worker_main_peak_rss_mb": main,
        "pool_peak_rss_mb": sorted(v for v in pool.values() if v is not None),
        "report": report,
    }


def sweep_in_one_process(url: str) -> dict[str, object]:
    seconds, rss, status = run_child([PYTHON, "manage.py", "sweep"], child_env(url))
    assert status == 0, "manage.py sweep failed"
    return {"seconds": seconds, "peak_rss_mb": rss}


# --- One request in a fresh process ---------------------------------------------------------------
def request_child(path: str, username: str, repeat: int) -> None:
    """(In the child) GET `path` as `username`: warm-up, `repeat` timed runs, one under tracemalloc."""
    import tracemalloc

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user = get_user_model().objects.get(username=username)
    client = APIClient()
    client.force_authenticate(user=user)

    def get() -> int:
        response = client.get(path)
        assert response.status_code == 200, (response.status_code, getattr(response, "content", b"")[:300])
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return len(body)

    start = time.perf_counter()
    size = get()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        get()
        runs.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    get()
    heap = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        "RESULT "
        + json.dumps(
            {
                "first_s": first,
                "median_s": statistics.median(runs),
                "runs_s": runs,
                "bytes": size,
                "peak_rss_mb": rss,
                "heap_peak_mb": heap,
            }
        )
    )


def measure_request(url: str, path: str, username: str, repeat: int) -> dict[str, object]:
    env = child_env(url)
    out = subprocess.run(
        [PYTHON, __file__, "--request", path, "--user", username, "--repeat", str(repeat)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"{path} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def floor(url: str, cycle: int, repeat: int) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET jit = off")
        conn.execute(FLOOR_SQL, [cycle]).fetchall()
        runs = []
        for _ in range(repeat):
            start = time.perf_counter()
            conn.execute(FLOOR_SQL, [cycle]).fetchall()
            runs.append(time.perf_counter() - start)
    return statistics.median(runs)


# --- Main -----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools", type=int, default=50000)
    parser.add_argument("--criteria", type=int, default=50)
    parser.add_argument("--workers", default="0,1,4", help="sweep variants: 0 = manage.py sweep, K = -c K")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each endpoint (median)")
    parser.add_argument("--no-views", action="store_true", help="measure the seed and the sweeps only")
    parser.add_argument("--request", help=argparse.SUPPRESS)
    parser.add_argument("--user", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.request:
        sys.path.insert(0, str(ROOT))
        request_child(args.request, args.user, args.repeat)
        return

    url = os.environ.get("DATABASE_URL", "")
    name = db_name(url)
    if not url.startswith("postgres") or "bench" not in name:
        sys.exit("DATABASE_URL must be a PostgreSQL database whose name contains 'bench' (it is dropped)")
    variants = [int(k) for k in args.workers.split(",")]
    copies = {k: f"{name}_w{k}" for k in variants}
    results: dict[str, object] = {"schools": args.schools, "criteria": args.criteria, "nproc": os.cpu_count()}
    log(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()}")

    admin_sql(url, *(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)' for db in [name, *copies.values()]))
    admin_sql(url, f'CREATE DATABASE "{name}"')
    seconds, rss, status = run_child([PYTHON, "manage.py", "migrate", "-v0"], child_env(url))
    assert status == 0, "migrate failed"
    log(f"migrate: {seconds:.1f} s")

    log(f"seed_demo --schools {args.schools} --criteria {args.criteria} ...")
    seed = [PYTHON, "manage.py", "seed_demo", "--schools", str(args.schools), "--criteria", str(args.criteria)]
    seconds, rss, status = run_child(seed, child_env(url))
    assert status == 0, "seed_demo failed"
    results["seed"] = {"seconds": seconds, "peak_rss_mb": rss, **counts(url)}
    log(f"seed: {seconds:.1f} s, peak RSS {rss:.0f} MB, {results['seed']}")
    [(cycle, supervisor)] = query(
        url,
        "SELECT c.id, a.username FROM tracker_cycle c JOIN tracker_membership m ON m.unit_id = c.authority_id "
        "JOIN auth_user a ON a.id = m.user_id WHERE m.role = 'supervisor'",
    )

    workdir = Path(tempfile.mkdtemp(prefix="qinglian-scale-"))
    sweeps = {}
    for k in variants:
        admin_sql(url, f'CREATE DATABASE "{copies[k]}" TEMPLATE "{name}"')
        copy = with_db(url, copies[k])
        log(f"sweep variant {k} ({'manage.py sweep' if k == 0 else f'{k} pool processes'}) on {copies[k]} ...")
        sweeps[k] = sweep_in_one_process(copy) if k == 0 else sweep_with_workers(copy, k, workdir)
        sweeps[k]["after"] = counts(copy)
        log(f"sweep variant {k}: {json.dumps(sweeps[k], default=str)}")
    results["sweeps"] = sweeps

    if args.no_views:
        log("done")
        print("SUMMARY " + json.dumps(results, default=str), flush=True)
        return
    last = with_db(url, copies[variants[-1]])
    query(
        last,
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined) VALUES ('!', true, 'bench-admin', '', '', '', true, true, now()) "
        "ON CONFLICT DO NOTHING RETURNING id",
    )
    endpoints = [
        ("overview", f"/api/v1/dashboards/overview/?cycle={cycle}", supervisor),
        ("overview as superuser", f"/api/v1/dashboards/overview/?cycle={cycle}", "bench-admin"),
        ("criteria view", f"/api/v1/dashboards/criteria/?cycle={cycle}", supervisor),
        ("overview.csv", f"/api/v1/exports/overview.csv?cycle={cycle}", supervisor),
        ("overview.xlsx", f"/api/v1/exports/overview.xlsx?cycle={cycle}", supervisor),
        ("criteria.csv", f"/api/v1/exports/criteria.csv?cycle={cycle}", supervisor),
        ("criteria.xlsx", f"/api/v1/exports/criteria.xlsx?cycle={cycle}", supervisor),
    ]
    views = {"floor_group_by_s": floor(last, cycle, args.repeat)}
    log(f"floor (one GROUP BY school_id): {views['floor_group_by_s'] * 1000:.0f} ms")
    for label, path, user in endpoints:
        views[label] = measure_request(last, path, user, args.repeat)
        log(f"{label}: {json.dumps(views[label])}")
    results["views"] = views
    shutil.rmtree(workdir, ignore_errors=True)
    log("done")
    print("SUMMARY " + json.dumps(results, default=str), flush=True)


if __name__ == "__main__":
    main()
