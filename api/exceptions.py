"""One place where errors become responses: domain errors with their code, DRF's with theirs."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tracker.errors import DomainError


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        body = {"code": exc.code, "detail": exc.detail, **exc.extra}
        return Response(body, status=exc.http_status)
    if isinstance(exc, ObjectDoesNotExist):
        exc = NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (APIException, Http404)):
        code = getattr(exc, "default_code", "error") if isinstance(exc, APIException) else "not_found"
        if isinstance(exc, ParseError):
            code = "parse_error"
        if isinstance(response.data, dict) and "detail" in response.data and len(response.data) == 1:
            response.data = {"code": code, "detail": response.data["detail"]}
        elif response.status_code == status.HTTP_400_BAD_REQUEST:
            response.data = {"code": "invalid", "detail": "invalid input", "errors": response.data}
    return response
