"""JSON answers for errors Django raises before or outside a DRF view, for paths under /api/.

A URL that matches no route (`/api/v1/tasks/1.5/`), a multipart body with too many parts
(TooManyFilesSent, a SuspiciousOperation) or a crash would otherwise come back as an HTML page, which
no API client expects. Same shape as api.exceptions: `{"code", "detail"}`. Other paths (admin,
docs) keep Django's pages. Wired in config/urls.py as handler400/404/500.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework.exceptions import NotFound

# Messages safe to repeat to the client: they name a limit, never a value the client sent.
_EXPLAINED = (TooManyFieldsSent, TooManyFilesSent, RequestDataTooBig)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception, template_name: str = "400.html") -> HttpResponse:
    if not _is_api(request):
        return defaults.bad_request(request, exception, template_name)
    detail = str(exception) if isinstance(exception, _EXPLAINED) else _("The request is malformed.")
    return JsonResponse({"code": "bad_request", "detail": detail}, status=400)


def page_not_found(request: HttpRequest, exception: Exception, template_name: str = "404.html") -> HttpResponse:
    if not _is_api(request):
        return defaults.page_not_found(request, exception, template_name)
    return JsonResponse({"code": "not_found", "detail": str(NotFound.default_detail)}, status=404)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    if not _is_api(request):
        return defaults.server_error(request, template_name)
    return JsonResponse({"code": "server_error", "detail": _("Internal error.")}, status=500)
