"""Locust scenarios for benchmarks/load.py (issue 14 item 5): one user class per endpoint, each user a
client that sends its next request as soon as the last one is answered (50 of them: 50 concurrent
requests). The driver passes the tokens and ids in the environment; run it rather than this file.
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, constant, task

# Sent as the TLS-terminating proxy of docker-compose.yml would: production settings redirect plain HTTP.
PROXY = {"X-Forwarded-Proto": "https"}


def _token(name: str) -> dict[str, str]:
    return {**PROXY, "Authorization": f"Token {os.environ[name]}"}


class Client(FastHttpUser):
    abstract = True
    wait_time = constant(0)


class Livez(Client):
    """The bare Django view: no query, no broker (GET /livez)."""

    @task
    def livez(self):
        self.client.get("/livez", headers=PROXY, name="livez")


class Healthz(Client):
    """The issue's baseline: one `SELECT 1` and a broker connection (GET /healthz)."""

    @task
    def healthz(self):
        self.client.get("/healthz", headers=PROXY, name="healthz")


class SchoolTaskList(Client):
    """A school's task list, one page of up to 50 rows (the demo's schools have fewer tasks than that)."""

    @task
    def task_list(self):
        self.client.get(os.environ["LOAD_TASK_LIST"], headers=_token("LOAD_SCHOOL_TOKEN"), name="task list")


class BureauTaskList(Client):
    """The bureau's task list of the cycle, one page of 50 rows."""

    @task
    def task_list(self):
        url = f"/api/v1/tasks/?cycle={os.environ['LOAD_CYCLE']}&page_size=50"
        self.client.get(url, headers=_token("LOAD_BUREAU_TOKEN"), name="task list (bureau)")


class SchoolTaskDetail(Client):
    """One of the school's tasks, at random."""

    def on_start(self):
        self.ids = os.environ["LOAD_SCHOOL_TASKS"].split(",")

    @task
    def task_detail(self):
        pk = random.choice(self.ids)
        self.client.get(f"/api/v1/tasks/{pk}/", headers=_token("LOAD_SCHOOL_TOKEN"), name="task detail")


class BureauOverview(Client):
    """The district overview, as the bureau's supervisor."""

    @task
    def overview(self):
        url = f"/api/v1/dashboards/overview/?cycle={os.environ['LOAD_CYCLE']}"
        self.client.get(url, headers=_token("LOAD_BUREAU_TOKEN"), name="overview")
