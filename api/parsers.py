"""Request parsers: DRF's, hardened so that no body can turn into a 500."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing two bodies that would crash later rather than here: documents
    nested too deeply for Python's decoder, and strings with unpaired surrogates (`"\\ud800"`), which
    are valid JSON escapes but not Unicode, so neither the database nor the error response could
    encode them."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except RecursionError as exc:
            raise ParseError(_("JSON parse error - the document is nested too deeply.")) from exc
        except UnicodeEncodeError as exc:
            raise ParseError(_("JSON parse error - a string holds an unpaired surrogate, which is not text.")) from exc
        return data
