"""No 500 on any date: every date and date-time input of the schema (query parameters and body fields of
every operation, found at run time) gets the ends of Python's range with offsets that overflow a time-zone
conversion (years 1 and 9999), and dates just outside 2000-2099. Each must be refused with 400 naming
the field, by at least one role that may use the operation; none may be accepted or crash."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import World
from .openapi import Operation, operations, sample_body, sample_query
from .refusals import refused_by_name

pytestmark = pytest.mark.django_db

DATES = ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01", "1900-06-01"]
MOMENTS = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59Z",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "1705-03-14T05:07:39+08:00",
]
ROLES = ("supervisor_d1", "school_a", "inspector_d1")


def formats(op: Operation, schema: dict[str, Any]) -> set[str]:
    schema = op.resolve(schema)
    found = {schema.get("format", "")}
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        found |= formats(op, option)
    return found & {"date", "date-time"}


def extremes(kinds: set[str]) -> list[str]:
    return (DATES if "date" in kinds else []) + (MOMENTS if "date-time" in kinds else [])


def date_inputs() -> list[tuple[Operation, str, str]]:
    """(operation, where: "query" or "body", name) of every date or date-time input of the schema."""
    found = []
    for op in operations():
        found += [(op, "query", p["name"]) for p in op.query_params() if formats(op, p.get("schema", {}))]
        if op.method != "get":
            props = op.request_properties().items()
            found += [(op, "body", name) for name, prop in props if not prop.get("readOnly") and formats(op, prop)]
    return found


def test_every_date_input_refuses_dates_out_of_range_with_400(world: World):
    inputs = date_inputs()
    names = {(op.label, name) for op, _where, name in inputs}
    # The schema's date inputs today; more join by themselves.
    for expected in [
        ("GET /api/v1/tasks/", "due_before"),
        ("GET /api/v1/tasks/", "due_after"),
        ("GET /api/v1/dashboards/trend/", "until"),
        ("GET /api/v1/dashboards/trend/", "since"),
        ("POST /api/v1/urges/", "respond_by"),
        ("POST /api/v1/cycles/", "starts_on"),
        ("POST /api/v1/criteria/", "due_at"),
        ("POST /api/v1/tasks/{id}/extend/", "due_at"),
        ("POST /api/v1/tasks/{id}/return/", "rework_due_at"),
    ]:
        assert expected in names, expected

    violations = []
    checked = 0
    for op, where, name in inputs:
        prop = op.request_properties().get(name, {}) if where == "body" else None
        schema = prop if prop is not None else next(p["schema"] for p in op.query_params() if p["name"] == name)
        for value in extremes(formats(op, schema)):

            def make(refs, op=op, where=where, name=name, value=value):
                query, body = sample_query(op, refs), sample_body(op, refs)
                (query if where == "query" else body)[name] = value
                return body, query

            found, sent = refused_by_name(world, op, ROLES, name, f"{name}={value!r}", make)
            violations += found
            checked += sent
    print(f"\ndate inputs: {len(inputs)} inputs, {checked} requests")
    assert not violations, "\n".join(violations)
