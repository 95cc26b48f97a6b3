"""One place where errors become responses: domain errors with their code, DRF's with theirs.

Every error body has `code` and `detail`; a 400 also has `errors`, a mapping of field name to
messages (`non_field_errors` for the body as a whole), and its `detail` names the fields.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from tracker.errors import DomainError, ValidationFailed

logger = logging.getLogger(__name__)

# A database that dropped the connection, timed out or gave way under the request (a restart, a
# fail-over, a cancelled statement): the request's transaction is gone whole, so the client may retry.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def _field_errors(data: Any) -> dict[str, Any]:
    """DRF's error data (a dict, a list or a string) as {field: [messages]}."""
    if isinstance(data, dict):
        return {
            str(field): messages if isinstance(messages, list | dict) else [messages]
            for field, messages in data.items()
        }
    if isinstance(data, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: data}
    return {api_settings.NON_FIELD_ERRORS_KEY: [data]}


def _invalid(errors: dict[str, Any], detail: str | None = None, **extra: Any) -> dict[str, Any]:
    if detail is None:
        detail = _("Invalid input: %(fields)s.") % {"fields": ", ".join(errors)} if errors else _("Invalid input.")
    return {"code": "invalid", "detail": detail, "errors": errors, **extra}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable during %s: %s", context.get("request") and context["request"].path, exc)
        response = Response(
            {"code": "unavailable", "detail": _("The service is briefly unavailable: try again in a moment.")},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if isinstance(exc, ValidationFailed):
        extra = dict(exc.extra)
        field = str(extra.pop("field", api_settings.NON_FIELD_ERRORS_KEY))
        return Response(_invalid({field: [exc.detail]}, exc.detail, **extra), status=exc.http_status)
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "detail": exc.detail, **exc.extra}
        return Response(body, status=exc.http_status)
    if isinstance(exc, ObjectDoesNotExist):
        exc = NotFound()
    if isinstance(exc, RequestDataTooBig):
        # The body is refused before it is read into memory (DATA_UPLOAD_MAX_MEMORY_SIZE).
        return Response(
            {"code": "request_too_large", "detail": _("The request body is larger than the server accepts.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response({"code": "parse_error", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, SuspiciousOperation):
        return Response(
            {"code": "bad_request", "detail": _("The request was refused.")}, status=status.HTTP_400_BAD_REQUEST
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code == status.HTTP_400_BAD_REQUEST and not isinstance(exc, ParseError):
        response.data = _invalid(_field_errors(response.data))
        return response
    if isinstance(exc, (APIException, Http404)):
        code = getattr(exc, "default_code", "error") if isinstance(exc, APIException) else "not_found"
        if isinstance(exc, ParseError):
            code = "parse_error"
        if isinstance(response.data, dict) and "detail" in response.data and len(response.data) == 1:
            response.data = {"code": code, "detail": response.data["detail"]}
    return response
