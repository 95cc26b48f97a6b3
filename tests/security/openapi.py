"""The API's routes, read from its own OpenAPI schema at run time, and plausible requests for them.

The abuse tests enumerate operations from here, so an endpoint added tomorrow is attacked tomorrow
without anyone editing a list.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from drf_spectacular.generators import SchemaGenerator

API_PREFIX = "/api/v1/"
SAFE_METHODS = ("get", "head", "options")

# A path segment (or parameter name) -> the model its id refers to. Unknown segments fail the tests that
# need them, on purpose: a new kind of object must be added here, not silently left unattacked.
KIND_BY_SEGMENT = {
    "units": "unit",
    "unit": "unit",
    "schools": "unit",
    "school": "unit",
    "authorities": "unit",
    "authority": "unit",
    "parent": "unit",
    "cycles": "cycle",
    "cycle": "cycle",
    "criteria": "criterion",
    "criterion": "criterion",
    "tasks": "task",
    "task": "task",
    "evidence": "evidence",
    "events": "event",
    "event": "event",
    "flags": "flag",
    "flag": "flag",
    "urges": "urge",
    "urge": "urge",
    "notifications": "notification",
    "notification": "notification",
    "webhooks": "webhook",
    "webhook": "webhook",
    "snapshots": "dailysnapshot",
    "extension-requests": "extensionrequest",
    "appeals": "appeal",
    "appeal": "appeal",
    "accounts": "user",
    "users": "user",
    "inspections": "inspection",
    "inspection": "inspection",
    "cases": "case",
    "case": "case",
    "notices": "notice",
    "notice": "notice",
    "items": "listitem",
    "item": "listitem",
    "risks": "riskpoint",
    "campaigns": "campaign",
    "campaign": "campaign",
    "checks": "check",
}

# Body and query fields that name another object.
REFERENCE_FIELDS = (
    "school",
    "unit",
    "authority",
    "parent",
    "cycle",
    "criterion",
    "task",
    "urge",
    "flag",
    "inspection",
    "campaign",
    "item",
)

_counter = itertools.count(1)


def unique(prefix: str = "x") -> str:
    return f"{prefix}{next(_counter)}"


@dataclass
class Operation:
    method: str
    path: str
    spec: dict[str, Any]
    components: dict[str, Any] = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def is_detail(self) -> bool:
        return bool(self.path_params)

    def query_params(self) -> list[dict[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == "query"]

    def required_query(self) -> list[dict[str, Any]]:
        return [p for p in self.query_params() if p.get("required")]

    def request_media_types(self) -> list[str]:
        return list(self.spec.get("requestBody", {}).get("content", {}))

    def request_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        for media in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
            if media in content:
                return self.resolve(content[media].get("schema", {}))
        return None

    def request_properties(self) -> dict[str, Any]:
        schema = self.request_schema() or {}
        return {name: self.resolve(prop) for name, prop in schema.get("properties", {}).items()}

    def takes_multipart_only(self) -> bool:
        return self.request_media_types() == ["multipart/form-data"]

    def resource_kind(self) -> str | None:
        """The kind of object the path's first parameter names (`/tasks/{id}/...` -> task)."""
        if not self.path_params:
            return None
        name = self.path_params[0]
        if name == "school_id":  # /integrity/registers/{school_id}/: a unit that is a school
            return "school"
        if name not in ("id", "pk"):
            return KIND_BY_SEGMENT.get(re.sub(r"_(id|pk)$", "", name))
        before = self.path.split("{" + name + "}")[0].rstrip("/").split("/")[-1]
        return KIND_BY_SEGMENT.get(before)

    def collection_kind(self) -> str | None:
        """For a list route (`/flags/`), the kind of its rows."""
        if self.path_params:
            return None
        last = self.path.rstrip("/").split("/")[-1]
        return KIND_BY_SEGMENT.get(last)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].split("/")[-1]]
        if "allOf" in schema and len(schema["allOf"]) == 1:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            return {**self.resolve(schema["allOf"][0]), **merged}
        return schema

    def url(self, **ids: object) -> str:
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", str(ids.get(name, ids.get("id"))))
        return path


def api_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any] | None = None) -> list[Operation]:
    schema = schema or api_schema()
    components = schema.get("components", {}).get("schemas", {})
    ops = []
    for path, item in schema["paths"].items():
        if not path.startswith(API_PREFIX):
            continue
        for method, spec in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append(Operation(method, path, spec, components))
    return ops


def sample_value(op: Operation, name: str, schema: dict[str, Any], refs: dict[str, int]) -> Any:
    """A plausible value for one field; references to other objects come from `refs` (kind -> pk)."""
    schema = op.resolve(schema)
    if "oneOf" in schema or "anyOf" in schema:
        options = [op.resolve(s) for s in schema.get("oneOf", schema.get("anyOf", []))]
        options = [s for s in options if s.get("type") != "null"] or options
        schema = options[0] if options else {}
    kind = KIND_BY_SEGMENT.get(name)
    typ = schema.get("type")
    if typ in ("integer", None) and (name in refs or kind in refs):
        return refs.get(name, refs.get(kind or ""))
    if "enum" in schema:
        values = [v for v in schema["enum"] if v not in (None, "")]
        return values[0] if values else None
    fmt = schema.get("format")
    if typ == "string":
        if fmt == "date-time":
            return "2030-09-30T08:00:00+08:00"
        if fmt == "date":
            return "2026-03-01"
        if fmt == "email":
            return "someone@example.org"
        if fmt in ("uri", "url"):
            return "https://hooks.example.org/in"
        if fmt == "binary":
            return SimpleUploadedFile("doc.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
        if fmt == "decimal":
            return "5.00"
        if name == "password":
            return "Vq8-strong-Passphrase"
        if schema.get("pattern") or name in ("username", "code"):
            return unique("u")
        return unique("text ")
    if typ == "integer":
        low = schema.get("minimum", 1)
        high = schema.get("maximum")
        return low if high is None else (low + high) // 2
    if typ == "number":
        return schema.get("minimum", 1)
    if typ == "boolean":
        return True
    if typ == "array":
        # A list that must not be empty gets one plausible item (an inspection's targets).
        if schema.get("minItems", 0) > 0:
            return [sample_value(op, name, schema.get("items", {}), refs)]
        return []
    if typ == "object":
        return _sample_object(op, schema, refs)
    return unique("text ")


def _sample_object(op: Operation, schema: dict[str, Any], refs: dict[str, int]) -> dict[str, Any]:
    """An object with its required properties, and the references the caller has, filled in."""
    required = set(schema.get("required", []))
    out = {}
    for name, prop in schema.get("properties", {}).items():
        prop = op.resolve(prop)
        if prop.get("readOnly"):
            continue
        if name in required or (name in REFERENCE_FIELDS and KIND_BY_SEGMENT.get(name) in refs):
            out[name] = sample_value(op, name, prop, refs)
    return out


def sample_body(op: Operation, refs: dict[str, int], *, everything: bool = False) -> dict[str, Any]:
    """A body with every required field (or every writable one) filled in."""
    schema = op.request_schema()
    if not schema:
        return {}
    required = set(schema.get("required", []))
    body = {}
    for name, prop in op.request_properties().items():
        if prop.get("readOnly"):
            continue
        if name in required or everything or (KIND_BY_SEGMENT.get(name) in refs and name in REFERENCE_FIELDS):
            body[name] = sample_value(op, name, prop, refs)
    return body


def sample_query(op: Operation, refs: dict[str, int]) -> dict[str, Any]:
    """The required query parameters, references pointing at `refs`."""
    query = {}
    for param in op.required_query():
        query[param["name"]] = sample_value(op, param["name"], param.get("schema", {}), refs)
    return query


def send(client, op: Operation, url: str, *, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None):
    """Call one operation with the Django test client (JSON, or multipart where that is all it takes)."""
    query = {k: v for k, v in (query or {}).items() if v is not None}
    if op.method in ("get", "delete"):
        return getattr(client, op.method)(url, query)
    if query:
        from urllib.parse import urlencode

        url = f"{url}?{urlencode(query)}"
    fmt = "multipart" if op.takes_multipart_only() else "json"
    return getattr(client, op.method)(url, body or {}, format=fmt)


def response_text(response) -> str:
    """Everything a response carries, as text: JSON, CSV, streamed files, and the XML inside XLSX/DOCX."""
    import io
    import zipfile

    # A streamed response: the test client closes it once its content is exhausted (closing it again
    # here would fire request_finished and close the test's database connection).
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    parts = [raw.decode("utf-8", "replace")]
    if raw.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                parts.extend(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        except zipfile.BadZipFile:
            pass
    parts.extend(f"{k}: {v}" for k, v in response.items())
    return "\n".join(parts)
