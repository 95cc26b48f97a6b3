"""Server time of the task endpoints in one process, run by hand (docs/benchmarks.md, "What a request costs now").

    DATABASE_URL=postgres://qinglian:qinglian@127.0.0.1:55650/qinglian_listbench \\
    DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=... DJANGO_ALLOWED_HOSTS=testserver \\
    CELERY_BROKER_URL=redis://127.0.0.1:56650/0 STATIC_ROOT=... \\
        .venv/bin/python benchmarks/requests_inprocess.py [--requests 50] [--only list_school list_bureau]

On a database seeded by `seed_demo` (with `collectstatic` run into STATIC_ROOT for the pages), through
Django's test client with a knox token (the API) or a session (the pages), as the proxy sends them
(X-Forwarded-Proto). Each round sends --requests of each request in turn and prints the medians. To compare
two commits, run a checkout of each alternately against the same database (rounds interleaved, the first
of each pair alternating) and compare the rounds' medians: absolute times on a shared machine move more
than the difference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from knox.models import AuthToken  # noqa: E402

from tracker.models import Cycle, Task  # noqa: E402

PROXY = {"HTTP_X_FORWARDED_PROTO": "https"}


def clients() -> dict[str, tuple[Client, str]]:
    users = get_user_model().objects
    school, bureau = users.get(username="school01"), users.get(username="bureau")
    cycle = Cycle.objects.filter(status="active").order_by("-activated_at", "-id").first()
    task = Task.objects.filter(school__memberships__user=school).order_by("id").first()

    def api(user) -> Client:
        return Client(**PROXY, HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user)[1]}")

    def web(user) -> Client:
        client = Client(**PROXY)
        client.force_login(user)
        return client

    return {
        "healthz": (Client(**PROXY), "/healthz"),
        "list_school": (api(school), "/api/v1/tasks/?page_size=50"),
        "list_bureau": (api(bureau), f"/api/v1/tasks/?cycle={cycle.pk}&page_size=50"),
        "detail_school": (api(school), f"/api/v1/tasks/{task.pk}/"),
        "page_school": (web(school), f"/tasks/{task.pk}/"),
        "page_bureau": (web(bureau), f"/tasks/{task.pk}/"),
        "weblist_bureau": (web(bureau), f"/tasks/?cycle={cycle.pk}"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    cases = {name: case for name, case in clients().items() if not args.only or name in args.only}
    for name, (client, url) in cases.items():  # warm up, and refuse to time an error
        status = client.get(url, secure=True).status_code
        if status != 200:
            sys.exit(f"{name}: {url} answered {status}")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.requests):
        for name, (client, url) in cases.items():
            start = time.perf_counter()
            client.get(url, secure=True)
            times[name].append((time.perf_counter() - start) * 1000)
    print("load", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    for name, values in times.items():
        print(f"{name:16s} median {statistics.median(values):6.2f} ms")


if __name__ == "__main__":
    main()
