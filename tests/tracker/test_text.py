"""Control characters are refused by the models themselves (tracker/text.py, issue 13 item 2): every text
field of every model of the domain, found by introspection, so a field added later is covered without
anyone editing a list. What validates a model (the admin's and every ModelForm's `full_clean`, DRF's model
serializers) refuses them; a one-line field also refuses line breaks and tabs, a multi-line one keeps them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from tracker.text import multi_line, single_line

CONTROLS = ["\x0b", "\x1b", "\x00", "\x7f", "\x85", "\u2028", "\u2029"]
LINE_BREAKS = ["\r\n", "\n", "\t"]


def text_fields() -> list[tuple[type[models.Model], models.Field]]:
    return [
        (model, field)
        for model in apps.get_app_config("tracker").get_models()
        for field in model._meta.local_fields
        if isinstance(field, models.CharField | models.TextField)
    ]


FIELDS = text_fields()


def refusal_codes(model: type[models.Model], field: models.Field, value: str) -> list[str]:
    """The codes of the refusals `full_clean` gives for `value` in `field` (every other field left out)."""
    instance = model()
    setattr(instance, field.attname, value)
    others = [f.name for f in model._meta.get_fields() if f.name != field.name]
    try:
        instance.clean_fields(exclude=others)
    except ValidationError as exc:
        return [error.code for error in exc.error_dict.get(field.name, [])]
    return []


def test_the_walk_finds_the_text_fields_of_every_context():
    models_seen = {model.__name__ for model, _field in FIELDS}
    print(f"\n{len(FIELDS)} text fields of {len(models_seen)} models")
    assert len(FIELDS) >= 70
    assert {"Unit", "Criterion", "Task", "Webhook", "ListItem", "RiskPoint", "Campaign", "Inspection", "Notice"} <= (
        models_seen
    )


@pytest.mark.parametrize(("model", "field"), FIELDS, ids=[f"{m.__name__}.{f.name}" for m, f in FIELDS])
def test_every_model_text_field_refuses_control_characters(model, field):
    expected = multi_line if isinstance(field, models.TextField) else single_line
    assert expected in field.validators
    # A field with choices refuses any other value first (its validators then do not run).
    refusals = {"control_characters", "invalid_choice"} if field.choices else {"control_characters"}
    for control in CONTROLS:
        assert refusals & set(refusal_codes(model, field, f"a{control}b")), repr(control)
    for brk in LINE_BREAKS:
        codes = set(refusal_codes(model, field, f"a{brk}b"))
        if isinstance(field, models.TextField):
            assert "control_characters" not in codes, repr(brk)
        else:
            assert refusals & codes, repr(brk)
