"""api/renderers.py: the task endpoints' JSON, written by orjson, is DRF's JSONRenderer's byte for byte, and
DRF writes it itself wherever orjson's bytes could differ (floats, types orjson does not know, indents)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from api.renderers import RENDERERS, FastJSONRenderer, written_by_orjson
from tests.conftest import Province
from tracker import models as m

pytestmark = pytest.mark.sqlite

EVERY_CONTROL = "".join(chr(c) for c in range(32)) + '\x7f"\\/'

WRITTEN_BY_ORJSON = {
    "strings": {
        "escapes": EVERY_CONTROL,
        "separators": "a\u2028b\u2029c",
        "cjk": "整改到位，评分：98.5",
        "emoji": "✅🏫",
    },
    "numbers": {"ints": [0, -1, 2**63 - 1, -(2**63)], "bools": [True, False], "none": None},
    "empty": {"list": [], "dict": {}, "string": ""},
    "nested": [[{"a": [[], [{}]]}], (1, "tuple")],
    "subclasses": {
        "error": [ErrorDetail("必填。", code="required")],
        "return": ReturnDict({"x": ReturnList([1, "2"], serializer=None)}, serializer=None),
    },
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "numbers in strings": ["1.5", "2e-7", "23:19:39.427905+08:00", "第1,2条", "[1]"],
}
WRITTEN_BY_DRF = {
    "small float": {"x": 1e-07},
    "float in a list": [1, 2.5e-05],
    "float first in a list": [0.5],
    "negative float": {"x": -100.0},
    "decimal": {"x": Decimal("1.10")},
    "datetime": {"x": datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)},
    "date": [date(2026, 12, 1)],
    "lazy translation": {"x": gettext_lazy("Not found.")},
    "set": {"x": {1}},
    "int key": {1: "one"},
    "huge int": [2**70],
    # the same text inside a string: written by DRF too (the bytes are the same either way)
    "a quote before a number in a string": {"x": 'a":1.5'},
    "a bracket or a comma before a number in a string": ["[1.5", "1,2.5"],
}


@pytest.mark.parametrize("data", WRITTEN_BY_ORJSON.values(), ids=WRITTEN_BY_ORJSON.keys())
def test_plain_data_is_written_by_orjson_as_drf_writes_it(data):
    written = written_by_orjson(data)
    assert written is not None
    assert written == JSONRenderer().render(data) == FastJSONRenderer().render(data)


@pytest.mark.parametrize("data", WRITTEN_BY_DRF.values(), ids=WRITTEN_BY_DRF.keys())
def test_what_orjson_could_write_otherwise_is_written_by_drf(data):
    assert written_by_orjson(data) is None
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


@pytest.mark.parametrize("media_type", ["application/json; indent=4", "application/json; indent=0", None])
def test_indents_and_nothing_are_written_as_drf_writes_them(media_type):
    data = WRITTEN_BY_ORJSON["strings"]
    assert FastJSONRenderer().render(data, media_type) == JSONRenderer().render(data, media_type)
    assert FastJSONRenderer().render(None) == b""


def test_only_drfs_json_renderer_is_replaced():
    assert RENDERERS[0] is FastJSONRenderer and JSONRenderer not in RENDERERS and len(RENDERERS) >= 2


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["application/json", "application/json; indent=2", "*/*"])
def test_the_task_endpoints_answer_drfs_bytes(province: Province, client_for, accept):
    # given: a task whose free text holds every character JSON escapes (but NUL, which PostgreSQL refuses)
    note = EVERY_CONTROL[1:] + "\u2028\u2029中文"
    m.Task.objects.filter(pk=province.open_task.pk).update(note=note)
    client = client_for(province.users["supervisor@district"])
    requests = [
        ("/api/v1/tasks/", {"cycle": province.cycle.pk, "page_size": 500}),
        ("/api/v1/tasks/", {"cycle": province.cycle.pk, "page": 2, "ordering": "-updated_at"}),
        (f"/api/v1/tasks/{province.open_task.pk}/", {}),
        ("/api/v1/tasks/", {"cycle": 999_999, "status": "bogus"}),  # a refusal
        ("/api/v1/tasks/", {"page": 99}),  # past the last page
    ]
    for path, query in requests:
        # when
        response = client.get(path, query, HTTP_ACCEPT=accept)
        # then: the bytes DRF's own renderer writes for the same answer
        assert isinstance(response.accepted_renderer, FastJSONRenderer), path
        expected = JSONRenderer().render(response.data, response.accepted_media_type, {"response": response})
        assert response.content == expected, (path, query)
    listed = client.get("/api/v1/tasks/", {"cycle": province.cycle.pk, "page_size": 500}).json()["results"]
    assert [row["note"] for row in listed if row["id"] == province.open_task.pk] == [note]
