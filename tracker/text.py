"""Text people type: no control characters (CONTRACT: bad input is a 400 naming the field).

A control character in a name or title broke every XLSX export of the district (openpyxl refuses it)
and a CR/LF in a unit name broke e-mail headers. Single-line text (names, titles, codes) takes none;
multi-line text (notes, reasons, messages, requirements) takes line breaks and tabs, nothing else.
These validators serve every input path: the API's fields, the web app's forms, the admin.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
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
