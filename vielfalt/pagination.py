"""Paginators that spare the database a second reading of the rows a page is taken from."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window


class WindowCountPaginator(Paginator):
    """Reads the total with the page's own statement (COUNT(*) OVER ()): a search finds its matches once, where
    Paginator has PostgreSQL find them all for its COUNT and again for the page. Each row (a model instance or a
    dictionary of `values()`) then also holds the total, as `window_total`. A number past the end, or "last", is
    counted and refused or served as Paginator does."""

    def get_page(self, number):
        """As Paginator.get_page (the first page for a number that is none, the last for one below 1 or past the
        end), without counting first."""
        try:
            number = self._number(number)
        except PageNotAnInteger:
            number = 1
        except EmptyPage:
            number = self.num_pages
        try:
            return self.page(number)
        except EmptyPage:
            return self.page(self.num_pages)

    def _number(self, number) -> int:
        """Paginator.validate_number's reading of a page number, but for the check against the last page."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as error:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from error
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number):
        if "count" in self.__dict__ or self.orphans or not isinstance(number, int) or number < 1:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.annotate(window_total=Window(Count("*")))[bottom : bottom + self.per_page]
        )
        if not rows and (number > 1 or not self.allow_empty_first_page):
            return super().page(number)  # past the end: refused as Paginator refuses it
        if not rows:
            self.count = 0  # a cached_property: set, it is never computed
        else:
            self.count = rows[0]["window_total"] if isinstance(rows[0], dict) else rows[0].window_total
        return self._get_page(rows, number, self)
