"""A page and the count of the whole list in one statement, for the API's task list and the task pages."""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Count, Window

from .prepared import read_prepared

COUNTED = "_counted"


class CountingPaginator(Paginator):
    """Django's Paginator over a queryset (of instances or of `values()` rows), reading a page and the count
    of the whole list in one statement: each row carries COUNT(*) OVER (), computed before the LIMIT. A page
    with no rows is the empty list's first page (count 0) or lies past the last (EmptyPage, as Django's own).
    Only a page past the last, or `?page=last` (DRF), asks for the count on its own."""

    def page(self, number) -> Page:
        if "count" in self.__dict__ or self.orphans:  # counted already
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
        page = self.object_list.annotate(**{COUNTED: Window(Count("*"))})[bottom : bottom + self.per_page]
        rows = read_prepared(page)  # prepared for rows (the API's list), as usual for tasks
        if not rows and (number > 1 or not self.allow_empty_first_page):
            raise EmptyPage(self.error_messages["no_results"])
        first = rows[0] if rows else None
        self.count = 0 if first is None else first[COUNTED] if isinstance(first, dict) else getattr(first, COUNTED)
        return self._get_page(rows, number, self)

    def get_page(self, number) -> Page:
        """Paginator.get_page: the first page for a number that is none, the last for one out of range."""
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)
