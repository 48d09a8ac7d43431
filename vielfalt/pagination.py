"""Paginators that spare the database a second reading of the rows a page is taken from."""

from django.core.paginator import Paginator
from django.db.models import Count, Window


class WindowCountPaginator(Paginator):
    """Reads the total with the page's own statement (COUNT(*) OVER ()): a search finds its matches once, where
    Paginator has PostgreSQL find them all for its COUNT and again for the page. The rows must be a queryset of
    dictionaries (`values()`), each then also holding the total under `window_total`. A number past the end, or
    "last", is counted and refused or served as Paginator does."""

    def page(self, number):
        if "count" in self.__dict__ or self.orphans or not isinstance(number, int) or number < 1:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.annotate(window_total=Window(Count("*")))[bottom : bottom + self.per_page]
        )
        if not rows and (number > 1 or not self.allow_empty_first_page):
            return super().page(number)  # past the end: refused as Paginator refuses it
        self.count = rows[0]["window_total"] if rows else 0  # a cached_property: set, it is never computed
        return self._get_page(rows, number, self)
