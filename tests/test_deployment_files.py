"""The deployment files say what they must: a valid compose stack, and a CI entry point that fails
when the tests do (including when pytest collects nothing)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else command


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    # --builtin-schema uses the schema vendored in check-jsonschema: no network needed.
    check_jsonschema = Path(sys.executable).parent / "check-jsonschema"

    result = subprocess.run(
        [str(check_jsonschema), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_the_whole_stack(compose: dict) -> None:
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose["services"])


def test_compose_runs_exactly_one_beat(compose: dict) -> None:
    services = compose["services"]
    beats = [
        name
        for name, service in services.items()
        if re.search(r"\bcelery\b.*\bbeat\b", _command(service)) or re.search(r"\s-B\b", _command(service))
    ]

    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in services["beat"]


def test_web_worker_and_beat_run_the_same_image(compose: dict) -> None:
    services = compose["services"]
    images = {(repr(services[name].get("build")), services[name].get("image")) for name in APP_SERVICES}

    assert len(images) == 1
    assert services["web"].get("build") is not None


@pytest.mark.parametrize("name", ["postgres", "redis", "web"])
def test_compose_service_has_a_healthcheck(compose: dict, name: str) -> None:
    assert compose["services"][name]["healthcheck"]["test"]


def test_web_healthcheck_asks_healthz(compose: dict) -> None:
    test = compose["services"]["web"]["healthcheck"]["test"]

    assert "/healthz" in " ".join(test)


def test_app_services_share_media_and_refuse_a_missing_secret(compose: dict) -> None:
    for name in APP_SERVICES:
        service = compose["services"][name]
        env = service["environment"]
        assert env["MEDIA_ROOT"] == "/data/media"
        assert env["DJANGO_DEBUG"] == "false"
        assert ":?" in env["DJANGO_SECRET_KEY"]
        assert any(volume.endswith(":/data/media") for volume in service["volumes"])


def test_ci_runs_the_readme_test_command() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text()

    assert re.search(r"^exec bin/test\b", ci_run, re.MULTILINE)


def test_bin_test_fails_when_pytest_collects_nothing() -> None:
    script = (ROOT / "bin" / "test").read_text()

    # pytest's status is the script's status, and no branch turns 5 into success.
    assert re.search(r'^exit "\$rc"$', script, re.MULTILINE)
    assert not re.search(r"-eq 5\b[^\n]*exit 0|\b5\)[^\n]*exit 0|rc=0", script)


@pytest.mark.parametrize("path", ["bin/setup", "bin/test", "bin/demo", ".ci/run"])
def test_scripts_are_executable_bash_without_syntax_errors(path: str) -> None:
    script = ROOT / path

    assert os.access(script, os.X_OK), f"{path} is not executable"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_app_processes_connect_as_a_role_that_owns_nothing(compose: dict) -> None:
    """Item 16 in production: only the one-shot migrate service uses the schema owner; web, worker
    and beat use a plain role that cannot disable the event log's append-only trigger."""
    services = compose["services"]
    owner_url = services["migrate"]["environment"]["DATABASE_URL"]
    assert owner_url.startswith("postgres://qinglian:")
    for name in ("web", "worker", "beat"):
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgres://qinglian_app:"), name
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    init = (ROOT / "deploy" / "postgres" / "10-app-role.sh").read_text()
    assert "NOSUPERUSER" in init and "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO qinglian_app" in init
    assert "TRUNCATE" not in init and "ALL PRIVILEGES" not in init
    mounts = services["postgres"]["volumes"]
    assert any(m.startswith("./deploy/postgres:/docker-entrypoint-initdb.d") for m in mounts)
