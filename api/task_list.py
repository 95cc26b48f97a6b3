"""GET /api/v1/tasks/: a page of tasks as rows of the columns it shows (api/task_rows.py), counted in the
page's own statement (tracker.paging), the cycle filter's scope judged in that statement too
(api/filters.KeyInStatementFilter): a page of the bureau's 50 tasks in 3 queries (issue 14)."""

from __future__ import annotations

from django.utils import timezone
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .filters import task_filters_refusal
from .task_rows import task_rows


def task_list(view, request) -> Response:
    tasks = view.filter_queryset(view.get_queryset())
    try:
        rows = view.paginate_queryset(tasks)
    except NotFound:  # no such page: unless the filters are refused first, as when they were judged first
        refused = task_filters_refusal(request)
        if refused is not None:
            raise refused from None
        raise
    if not rows and (refused := task_filters_refusal(request)) is not None:
        raise refused
    return view.get_paginated_response(task_rows(rows, now=timezone.now()))
