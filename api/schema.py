"""OpenAPI post-processing: document the error answers of CONTRACT section 3 on every operation.

drf-spectacular documents only what a view declares (usually its success). Clients and the schema
tests need the errors too: 400 bad input, 401 unauthenticated, 403 wrong role, 404 out of scope,
409 wrong state, 413/415 for uploads, 429 when throttled, 503 when the database gave way (retry).
Each has the one shape that api.exceptions.exception_handler gives it. A view that documents a code
itself keeps its own.
"""

from __future__ import annotations

import re
from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error: a machine-readable code, a message, and per-field errors for bad input.",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["detail"],
    "additionalProperties": True,
}

DESCRIPTIONS = {
    "400": "Bad input: field errors under `errors`.",
    "401": "Not authenticated.",
    "403": "The caller's role may not do this.",
    "404": "Not found, or outside the caller's scope.",
    "409": "Not allowed in the object's current state.",
    "413": "The file is too large.",
    "415": "The media type or file type is not allowed.",
    "429": "Too many requests: retry later.",
    "503": "The database was briefly unavailable: retry after `Retry-After` seconds.",
}

_UNSAFE = {"post", "put", "patch", "delete"}


def _shape(path: str) -> str:
    return re.sub(r"{\w+}", "{}", path)


def _throttled_operations(generator) -> set[tuple[str, str]]:
    """(path, method) of the views that throttle or check passwords under the login policy (429)."""
    found = set()
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        view_class = getattr(callback, "cls", None)
        initkwargs = getattr(callback, "initkwargs", None) or {}
        if view_class is not None and (
            initkwargs.get("throttle_classes")
            or getattr(view_class, "throttle_classes", None)
            or getattr(view_class, "login_policy", False)
        ):
            found.add((_shape(path), method.lower()))
    return found


def add_error_responses(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    throttled = _throttled_operations(generator)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            codes = ["400", "401", "403", "404", "503"]
            if method in _UNSAFE:
                codes.append("409")
            if "requestBody" in operation:
                codes.append("415")
                if list(operation["requestBody"].get("content", {})) == ["multipart/form-data"]:
                    codes.append("413")  # file uploads
            if (_shape(path), method) in throttled:
                codes.append("429")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code, {"description": DESCRIPTIONS[code], "content": {"application/json": {"schema": ref}}}
                )
    return result
