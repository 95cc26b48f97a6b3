"""/ : each role to its home (anonymous people to the login page)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from ..access import home_url


def home(request: HttpRequest) -> HttpResponse:
    return redirect(home_url(request.user))
