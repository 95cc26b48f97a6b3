"""Real HTTP under load (issue 14 item 5), run by hand (not in CI). Results go in docs/benchmarks.md.

    DATABASE_URL=postgres://qinglian:qinglian@127.0.0.1:55600/qinglian_loadbench \\
        .venv/bin/python benchmarks/load.py [--users 50] [--seconds 60] [--workers 3]

It DROPS and recreates the database named in DATABASE_URL (whose name must contain "bench"), migrates
it and runs `seed_demo` (the demo district: 17 schools, 19 criteria, a year of history). Then it serves
the app as docker-compose.yml does (gunicorn, `--workers 3`, production settings, a Redis of its own as
broker and cache) on loopback, and for each scenario of benchmarks/locustfile.py runs locust headless in
one process: --users clients, each sending its next request as soon as the last is answered, for
--seconds. It prints requests/s, p50/p95/p99 per scenario, the ratio of each p95 to the bare view's
(/livez), the server's CPU time per request (gunicorn's, and the PostgreSQL cluster's of DATABASE_URL, on
this machine: read from /proc, the load generator's share aside, so steadier than the latencies on a
shared machine),
and the load average around each run. Locust comes with the `load` extra (pyproject.toml).

The load generator runs on the same machine as the server and the database: on a small machine it takes
a core the server would otherwise have, which the figures include.
"""

from __future__ import annotations

import argparse
import csv
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
from run import ROOT, log, recreate_database  # benchmarks/run.py: the same refusal to drop a non-bench db

SCENARIOS = [  # (locust user class, what it measures)
    ("Livez", "bare view `/livez` (no query)"),
    ("Healthz", "`/healthz` (one query + broker; the issue's baseline)"),
    ("SchoolTaskList", "task list as a school"),
    ("BureauTaskList", "task list as the bureau (50 rows)"),
    ("SchoolTaskDetail", "task detail as a school"),
    ("BureauOverview", "overview as the bureau"),
]
BARE = "Livez"
SETUP = """
from knox.models import AuthToken
from django.contrib.auth import get_user_model
from tracker.models import Cycle, Task
school = get_user_model().objects.get(username="school01")
bureau = get_user_model().objects.get(username="bureau")
cycle = Cycle.objects.filter(status="active").order_by("-activated_at", "-id").first()
tasks = list(Task.objects.filter(school__memberships__user=school).values_list("id", flat=True))
print("SCHOOL_TOKEN", AuthToken.objects.create(school)[1])
print("BUREAU_TOKEN", AuthToken.objects.create(bureau)[1])
print("CYCLE", cycle.pk)
print("SCHOOL_TASKS", ",".join(map(str, tasks)))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"manage.py {args[0]} failed:\n{done.stderr}")
    return done.stdout


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of all its children, those that have exited included (their
    time is added to the parent's when it reaps them): Linux /proc."""

    def times(pid: int) -> list[int]:
        return [int(n) for n in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:15]]

    total = sum(times(pid))  # utime, stime, cutime, cstime (fields 14-17 of stat)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            total += sum(times(int(child)))
        except OSError:  # gone since: its time is in the parent's now, or will be
            continue
    return total / os.sysconf("SC_CLK_TCK")


def aggregated(stats_csv: Path) -> dict[str, float]:
    with stats_csv.open() as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50": float(row["50%"]),
        "p95": float(row["95%"]),
        "p99": float(row["99%"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (docker-compose.yml: 3)")
    parser.add_argument("--only", nargs="*", help="user classes to run (default: all)")
    parser.add_argument("--keep-data", action="store_true", help="reuse the seeded database of an earlier run")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database whose name contains 'bench'")
    work = Path(tempfile.mkdtemp(prefix="qinglian-load-"))
    redis_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "EMAIL_URL": "dummymail://",
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        "LOG_LEVEL": "WARNING",
    }
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=work,
        stdout=subprocess.DEVNULL,
    )
    server = None
    try:
        if not args.keep_data:
            log("recreating the database, migrating, seeding the demo district")
            recreate_database(url)
            manage(env, "migrate", "--noinput")
            manage(env, "seed_demo")
        found = dict(line.split(" ", 1) for line in manage(env, "shell", "-c", SETUP).splitlines() if " " in line)
        tasks = found["SCHOOL_TASKS"].split(",")
        env |= {
            "LOAD_SCHOOL_TOKEN": found["SCHOOL_TOKEN"],
            "LOAD_BUREAU_TOKEN": found["BUREAU_TOKEN"],
            "LOAD_CYCLE": found["CYCLE"],
            "LOAD_SCHOOL_TASKS": found["SCHOOL_TASKS"],
            "LOAD_TASK_LIST": "/api/v1/tasks/?page_size=50",
        }
        log(f"school01 has {len(tasks)} tasks (the list's page: {min(len(tasks), 50)} rows); cycle {found['CYCLE']}")
        # As docker-compose.yml's web service, on loopback (its access log to a file instead of stdout).
        gunicorn = [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application"]
        gunicorn += [
            "-b",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            str(work / "access.log"),
        ]
        server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stderr=(work / "gunicorn.log").open("w"))
        host = f"http://127.0.0.1:{port}"
        wait_for(f"{host}/healthz")
        with psycopg.connect(url, autocommit=True) as database:  # the postmaster: our backend's parent
            backend = database.execute("SELECT pg_backend_pid()").fetchone()[0]
            postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        log(f"gunicorn up on {host} with {args.workers} workers; {os.cpu_count()} CPUs; load {loadavg()}")
        results = {}
        for name, what in SCENARIOS:
            if args.only and name not in args.only:
                continue
            before = loadavg()
            cpu = cpu_seconds(server.pid), cpu_seconds(postmaster)
            command = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py")]
            command += ["--headless", "--users", str(args.users), "--spawn-rate", str(args.users)]
            command += ["--run-time", f"{args.seconds}s", "--host", host, "--csv", str(work / name)]
            command += ["--only-summary", "--loglevel", "WARNING", name]
            subprocess.run(command, cwd=ROOT, env=env, check=False, capture_output=True)
            results[name] = {**aggregated(work / f"{name}_stats.csv"), "what": what, "load": f"{before}-{loadavg()}"}
            # Server CPU per request (the load generator's aside): gunicorn (master and workers), PostgreSQL
            # (the whole cluster: its backends, and its background processes, which idle meanwhile).
            served = max(results[name]["requests"], 1)
            results[name]["app_cpu_ms"] = (cpu_seconds(server.pid) - cpu[0]) * 1000 / served
            results[name]["db_cpu_ms"] = (cpu_seconds(postmaster) - cpu[1]) * 1000 / served
            log(f"{name}: {results[name]}")
        bare = results.get(BARE)
        print(
            "\n| endpoint | requests | failures | requests/s | p50 | p95 | p99 | p95 / bare p95 | "
            "CPU / request: gunicorn, PostgreSQL | load (1 min) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for r in results.values():
            ratio = f"{r['p95'] / bare['p95']:.1f}x" if bare and bare["p95"] else "-"
            print(
                f"| {r['what']} | {r['requests']:,} | {r['failures']} | {r['rps']:.0f} | {r['p50']:.0f} ms | "
                f"{r['p95']:.0f} ms | {r['p99']:.0f} ms | {ratio} | "
                f"{r['app_cpu_ms']:.2f} ms, {r['db_cpu_ms']:.2f} ms | {r['load']} |"
            )
    finally:
        for process in (server, redis):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
