"""Page-number pagination (?page=, ?page_size=) for every list, and a variant that counts in the page's
own statement (tracker.paging) for the task list."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

from tracker.paging import CountingPaginator


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CountingPagination(Pagination):
    django_paginator_class = CountingPaginator
