"""Text people type: no control characters (CONTRACT: bad input is a 400 naming the field).

A control character in a name or title broke every XLSX export of the district (openpyxl refuses it)
and a CR/LF in a unit name broke e-mail headers. Single-line text (names, titles, codes) takes none;
multi-line text (notes, reasons, messages, requirements) takes line breaks and tabs, nothing else.
These validators serve every input path: `model_text_guard` puts them on every text field of the
domain's models (tracker/apps.py), so the admin's forms, ModelForms and DRF's model serializers refuse
them; the API's plain serializers (api/serializers.py `guard_text`) and the web app's forms
(web/forms.py `TextGuardedForm`) put them on every text field they declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")


@deconstructible
class NoControlCharacters:
    """A validator: refuses control characters; with `multiline`, line breaks (CR, LF) and tabs pass."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: object) -> None:
        pattern = _CONTROL_BUT_LINES if self.multiline else _ANY_CONTROL
        if isinstance(value, str) and pattern.search(value):
            message = (
                _("must not contain control characters")
                if self.multiline
                else _("must be one line without control characters")
            )
            raise ValidationError(message, code="control_characters")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoControlCharacters) and other.multiline == self.multiline


single_line = NoControlCharacters()
multi_line = NoControlCharacters(multiline=True)


def text_validator_for(field: models.Field) -> NoControlCharacters:
    """A model's text field: a TextField holds lines (multi-line), any other text field is one line."""
    return multi_line if isinstance(field, models.TextField) else single_line


def model_text_guard(model_classes: Iterable[type[models.Model]]) -> None:
    """Give every text field of these models the control-character check, in one place, so that every
    path that validates a model refuses them: ModelForms and so the admin (`full_clean`), DRF's model
    serializers, and the migration state (a field added later gets it too, and makemigrations says so)."""
    for model in model_classes:
        for field in model._meta.local_fields:
            if isinstance(field, models.CharField | models.TextField):
                guard = text_validator_for(field)
                if guard not in field._validators:
                    field._validators = [*field._validators, guard]
                    field.__dict__.pop("validators", None)  # a cached_property on Field
