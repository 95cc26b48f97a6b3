"""/notices/: the notice board. Every account under the authority reads it, schools included: the
published notices, newest first, in redacted text only (surname + 某), composed in the reader's language
by notice_title/notice_body. The same reads as /api/v1/notices/ (scope.notices_visible).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracker import scope
from tracker.inspections.texts import notice_body, notice_title

PAGE_SIZE = 20


@login_required
def notice_list(request: HttpRequest) -> HttpResponse:
    notices = scope.notices_visible(request.user).select_related("authority").order_by("-published_at", "-id")
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"notice": n, "title": notice_title(n), "body": notice_body(n)} for n in page]
    return render(request, "web/notices.html", {"page": page, "rows": rows})
