"""Control characters in text input (issue 13, item 2): a vertical tab in one school's name made every XLSX
export of its district a 500, and a CR/LF in a unit name broke other people's e-mail. Every text field of
every write operation of the schema (found at run time, nested fields included) refuses them with 400
naming the field; one-line fields refuse line breaks too, multi-line ones keep them."""

from __future__ import annotations

from typing import Any

import pytest

from tracker import models as m

from .conftest import World
from .openapi import Operation, operations, sample_body
from .refusals import refused_by_name
from .test_authz_matrix import fingerprint

pytestmark = pytest.mark.django_db

ROLES = ("supervisor_d1", "school_a", "inspector_d1")
HOSTILE = ["x\x0by", "x\x1b[2Jy", "x\x00y", "x\x85y", "x\u2028y"]


def text_fields(op: Operation) -> list[tuple[str, str | None]]:
    """(field, nested field or None) of the plain text properties of the operation's JSON body."""
    found = []
    for name, prop in op.request_properties().items():
        if prop.get("readOnly"):
            continue
        if prop.get("type") == "string" and "format" not in prop and "enum" not in prop:
            found.append((name, None))
        items = op.resolve(prop.get("items", {})) if prop.get("type") == "array" else {}
        if items.get("type") == "string" and "enum" not in items:
            found.append((name, ""))
        for inner, inner_prop in items.get("properties", {}).items():
            inner_prop = op.resolve(inner_prop)
            if inner_prop.get("type") == "string" and "format" not in inner_prop and not inner_prop.get("readOnly"):
                found.append((name, inner))
    return found


def body_with(op: Operation, refs: dict[str, int], name: str, inner: str | None, value: str) -> dict[str, Any]:
    body = sample_body(op, refs, everything=True)
    if inner is None:
        body[name] = value
    elif inner == "":
        body[name] = [value]
    else:
        item_schema = op.resolve(op.request_properties()[name]["items"])
        item = {k: "1.00" if k == "points" else f"ok{k}" for k in item_schema.get("required", [])}
        body[name] = [{**item, inner: value}]
    return body


def test_every_text_field_refuses_control_characters_with_400(world: World, public_dns: None):
    ops = [
        op
        for op in operations()
        if op.method in ("post", "patch", "put") and "application/json" in op.request_media_types()
    ]
    before = fingerprint()
    violations = []
    checked = set()
    for op in ops:
        for name, inner in text_fields(op):
            for value in HOSTILE:

                def make(refs, op=op, name=name, inner=inner, value=value):
                    return body_with(op, refs, name, inner, value), {}

                found, _sent = refused_by_name(world, op, ROLES, name, f"{name}.{inner} = {value!r}", make)
                violations += found
                checked.add((op.label, name, inner))
    print(f"\ncontrol characters: {len(checked)} text fields of {len(ops)} write operations")
    assert len(checked) >= 25
    assert not violations, "\n".join(violations[:60])
    assert fingerprint() == before


@pytest.mark.parametrize("value", ["Putuo\r\nBureau", "Putuo\nBureau", "Putuo\tBureau"])
def test_a_one_line_field_refuses_line_breaks_and_tabs(district, client_for, value):
    response = client_for(district.supervisor).patch(
        f"/api/v1/units/{district.school_a.pk}/", {"name": value}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    district.school_a.refresh_from_db()
    assert district.school_a.name == "School A"


def test_a_multi_line_field_keeps_its_lines(district, client_for):
    task = m.Task.objects.get(school=district.school_a)
    note = "Done:\r\n\t1. minutes\n\t2. register"
    response = client_for(district.school_a_user).post(
        f"/api/v1/tasks/{task.pk}/progress/", {"progress": 50, "note": note}, format="json"
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.note == note
