"""Control characters in the pages' forms (issue 13, item 2): every form of the web app, found by walking
the subclasses of Django's Form defined in `web`, is a TextGuardedForm, and each of its text fields
(those it adds in __init__ included) refuses control characters with a form error naming the field; the
pages answer 400 with the error beside the field and store nothing."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from django import forms

import web
from tests.integrity_support import integrity
from tracker import models as m
from web.forms import TextGuardedForm

pytestmark = pytest.mark.django_db
__all__ = ["integrity"]  # a fixture

HOSTILE = "a\x0bb\x1bc"

# What each form's own keyword arguments take; a new form with a new argument must add it here.
FORM_KWARGS = {
    "rules": lambda: [{"code": "D1", "description": "d", "points": "1.00"}],
    "schools": lambda: m.Unit.objects.all(),
    "shown": list,
    "allowed": lambda: [("approved", "approved")],
    "applied": lambda: [("D1", "d")],
    "units": lambda: m.Unit.objects.all(),
    "items": lambda: m.ListItem.objects.all(),
    "authorities": lambda: m.Unit.objects.all(),
    "campaigns": list,
}


def web_forms() -> list[type[forms.Form]]:
    for module in pkgutil.walk_packages(web.__path__, prefix="web."):
        importlib.import_module(module.name)
    found, todo = [], [forms.Form]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("web.") and cls not in found:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__qualname__)


def build(cls: type[forms.Form], data: dict) -> forms.Form:
    params = inspect.signature(cls.__init__).parameters.values()
    needed = [p.name for p in params if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    unknown = [name for name in needed if name not in FORM_KWARGS]
    assert not unknown, f"{cls.__name__} takes {unknown}: add a sample to FORM_KWARGS"
    return cls(data, **{name: FORM_KWARGS[name]() for name in needed})


FORMS = web_forms()


def test_the_walk_finds_the_forms_of_every_part_of_the_app():
    names = {cls.__name__ for cls in FORMS}
    print(f"\n{len(FORMS)} forms")
    assert {"ProgressForm", "UrgeForm", "InspectionForm", "DispositionForm", "ListItemForm", "CheckForm"} <= names


@pytest.mark.parametrize("form_class", FORMS, ids=[cls.__name__ for cls in FORMS])
def test_every_text_field_of_every_form_refuses_control_characters(form_class, district):
    assert issubclass(form_class, TextGuardedForm)
    blank = build(form_class, {})
    names = [name for name, field in blank.fields.items() if isinstance(field, forms.CharField)]
    form = build(form_class, dict.fromkeys(names, HOSTILE))

    assert not form.is_valid() or not names
    for name in names:
        codes = [error.code for error in form.errors.as_data().get(name, [])]
        assert "control_characters" in codes, (form_class.__name__, name, form.errors)


def test_a_textarea_keeps_its_lines_and_a_line_field_refuses_them(district):
    from web.forms import InspectionForm

    form = InspectionForm(
        {
            "kind": "announced",
            "held_on": "2026-05-01",
            "inspectors": "2",
            "target_kind": "other",
            "target_name": "东港\n花园",
            "summary": "一、\r\n\t二、",
        },
        schools=m.Unit.objects.all(),
    )
    assert not form.is_valid()
    assert list(form.errors) == ["target_name"]


# --- The pages: 400, the error beside the field, nothing stored --------------------------------------------
def test_the_task_page_refuses_a_control_character_in_the_note(district, page_for, task_a):
    response = page_for(district.school_a_user).post(
        f"/tasks/{task_a.pk}/", {"action": "progress", "progress": "60", "note": f"纪要{HOSTILE}"}
    )
    assert response.status_code == 400
    assert "控制字符" in response.content.decode()
    task_a.refresh_from_db()
    assert (task_a.progress, task_a.note) == (0, "")


def test_the_inspections_page_refuses_a_control_character_in_a_place_name(district, page_for):
    body = {
        "kind": "announced",
        "held_on": "2026-05-01",
        "inspectors": "2",
        "target_kind": "other",
        "target_name": f"东港{HOSTILE}",
        "summary": "",
    }
    response = page_for(district.inspector, "en").post("/inspections/", body)
    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not m.Inspection.objects.exists()


def test_the_integrity_lists_page_refuses_a_control_character_in_a_title(integrity, page_for):
    d = integrity.d
    body = {"action": "create", "unit": d.bureau.pk, "list": "negative", "code": "N09", "title": f"收费{HOSTILE}"}
    response = page_for(d.supervisor, "en").post("/integrity/lists/", body)
    assert response.status_code == 400
    assert "control characters" in response.content.decode()
    assert not m.ListItem.objects.filter(code="N09").exists()
