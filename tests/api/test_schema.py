"""The OpenAPI schema: generated without warnings, lists every endpoint, and its docs need no network."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import Resolver404, resolve

# CONTRACT section 3: (method, path). Paths with {id} are probed with an id to see whether they exist yet.
CONTRACT_ENDPOINTS = [
    ("post", "/api/v1/auth/token/"),
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/units/"),
    ("post", "/api/v1/units/"),
    ("get", "/api/v1/units/{id}/"),
    ("patch", "/api/v1/units/{id}/"),
    ("post", "/api/v1/accounts/"),
    ("get", "/api/v1/cycles/"),
    ("post", "/api/v1/cycles/"),
    ("get", "/api/v1/cycles/{id}/"),
    ("patch", "/api/v1/cycles/{id}/"),
    ("post", "/api/v1/cycles/{id}/activate/"),
    ("post", "/api/v1/cycles/{id}/close/"),
    ("get", "/api/v1/criteria/"),
    ("post", "/api/v1/criteria/"),
    ("get", "/api/v1/criteria/{id}/"),
    ("patch", "/api/v1/criteria/{id}/"),
    ("get", "/api/v1/tasks/"),
    ("get", "/api/v1/tasks/{id}/"),
    ("post", "/api/v1/tasks/{id}/start/"),
    ("post", "/api/v1/tasks/{id}/progress/"),
    ("post", "/api/v1/tasks/{id}/submit/"),
    ("post", "/api/v1/tasks/{id}/approve/"),
    ("post", "/api/v1/tasks/{id}/return/"),
    ("post", "/api/v1/tasks/{id}/extend/"),
    ("get", "/api/v1/tasks/{id}/evidence/"),
    ("post", "/api/v1/tasks/{id}/evidence/"),
    ("get", "/api/v1/evidence/{id}/download/"),
    ("get", "/api/v1/tasks/{id}/history/"),
    ("get", "/api/v1/events/"),
    ("get", "/api/v1/flags/"),
    ("get", "/api/v1/notifications/"),
    ("post", "/api/v1/notifications/{id}/read/"),
    ("get", "/api/v1/urges/"),
    ("post", "/api/v1/urges/"),
    ("post", "/api/v1/urges/{id}/respond/"),
    ("get", "/api/v1/dashboards/overview/"),
    ("get", "/api/v1/dashboards/trend/"),
    ("get", "/api/v1/dashboards/criteria/"),
    ("get", "/api/v1/dashboards/schools/{id}/"),
    ("get", "/api/v1/dashboards/oversight/"),
    ("get", "/api/v1/exports/overview.csv"),
    ("get", "/api/v1/exports/overview.xlsx"),
]
# This issue's endpoints must exist; the others' appear in the schema as they are added.
CORE = {
    path
    for _, path in CONTRACT_ENDPOINTS
    if not re.match(r"/api/v1/(flags|notifications|urges|dashboards|exports)/", path)
}


def _shape(path: str) -> str:
    return re.sub(r"{\w+}", "{}", path)


def _exists(path: str) -> bool:
    try:
        resolve(path.replace("{id}", "1"))
    except Resolver404:
        return False
    return True


@pytest.fixture(scope="module")
def schema() -> dict:
    from rest_framework.test import APIClient

    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_served_to_anyone_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Qinglian API"


def test_every_core_endpoint_of_the_contract_exists():
    missing = sorted(path for path in CORE if not _exists(path))
    assert missing == []


def test_the_schema_lists_every_contract_endpoint_that_exists(schema):
    documented = {(method, _shape(path)) for path, item in schema["paths"].items() for method in item}
    wanted = {(method, _shape(path)) for method, path in CONTRACT_ENDPOINTS if _exists(path)}
    assert wanted - documented == set()
    assert len(wanted) >= len([p for _, p in CONTRACT_ENDPOINTS if p in CORE])


def test_the_task_list_documents_its_filters_ordering_and_pagination(schema):
    operation = schema["paths"]["/api/v1/tasks/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"cycle", "school", "criterion", "status", "overdue", "due_before", "due_after", "ordering"} <= names
    assert {"page", "page_size"} <= names
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ok]["properties"]) == {"count", "next", "previous", "results"}


def test_the_upload_is_documented_as_multipart_with_a_file(schema):
    body = schema["paths"]["/api/v1/tasks/{id}/evidence/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in body
    ref = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][ref]["properties"]["file"]["format"] == "binary"


def test_the_schema_generates_and_validates_without_warnings(tmp_path: Path):
    out, err = StringIO(), StringIO()
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=out, stderr=err)
    assert "Warning" not in err.getvalue() + out.getvalue()
    assert yaml.safe_load(target.read_text())["paths"]


def test_the_docs_page_needs_no_outside_network():
    from rest_framework.test import APIClient

    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert references, "the page loads its assets from somewhere"
    for reference in references:
        assert reference.startswith("/static/"), reference
        assert finders.find(reference.removeprefix("/static/")), f"{reference} is not a local static file"
    assert not re.search(r"https?://(?!localhost|127\.0\.0\.1|testserver)", html.replace("http://www.w3.org", ""))
    assert "/api/schema/" in html
