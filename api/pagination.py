"""Page-number pagination (?page=, ?page_size=) for every list, and a variant that counts in the page's
own statement for the lists read as rows of columns (the task list)."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Count, Window
from rest_framework.pagination import PageNumberPagination

COUNTED = "_counted"


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CountingPaginator(Paginator):
    """Django's Paginator over a `QuerySet.values()` list, which reads a page and the count of the whole list
    in one statement: each row carries COUNT(*) OVER (), computed before the LIMIT. A page with no rows is
    the empty list's first page (count 0) or lies past the last (EmptyPage, as Django's own says)."""

    def page(self, number) -> Page:
        if "count" in self.__dict__ or self.orphans:  # counted already (`?page=last`)
            return super().page(number)
        try:  # Paginator.validate_number, but for the last page, which the rows tell
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list.annotate(**{COUNTED: Window(Count("*"))})[bottom : bottom + self.per_page])
        if not rows and (number > 1 or not self.allow_empty_first_page):
            raise EmptyPage(self.error_messages["no_results"])
        self.count = rows[0][COUNTED] if rows else 0
        return self._get_page(rows, number, self)


class CountingPagination(Pagination):
    django_paginator_class = CountingPaginator
