"""Paginators that spare the database a second reading of the rows a page is taken from: each reads the page
first and learns the total from it where it can, and serves every page number as Django's Paginator does."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window


class PageFirstPaginator(Paginator):
    """Reads a page's rows before counting; `_read` says what the rows tell of the total (None: count)."""

    def _read(self, bottom: int) -> tuple[list, int | None]:
        raise NotImplementedError

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
        rows, total = self._read(bottom)
        if not rows and (number > 1 or not self.allow_empty_first_page):
            return super().page(number)  # past the end: refused as Paginator refuses it
        if total is None:  # the rows do not tell: counted
            return self._get_page(rows, self.validate_number(number), self)
        self.count = total  # a cached_property: set, it is never computed
        return self._get_page(rows, number, self)


class CountingPaginator(PageFirstPaginator):
    """Reads one row more than a page holds: a page not followed by more rows ends the list, so the rows before it
    and on it are all there are. Only a page followed by more (or a number past the end) asks the database to
    count."""

    def _read(self, bottom):
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if len(rows) > self.per_page:  # more follow: count them
            return rows[: self.per_page], None
        return rows, bottom + len(rows)


class WindowCountPaginator(PageFirstPaginator):
    """Reads the total with the page's own statement (COUNT(*) OVER ()): a search finds its matches once, where
    Paginator has PostgreSQL find them all for its COUNT and again for the page. Each row (a model instance or a
    dictionary of `values()`) then also holds the total, as `window_total`."""

    def _read(self, bottom):
        rows = list(
            self.object_list.annotate(window_total=Window(Count("*")))[bottom : bottom + self.per_page]
        )
        if not rows:
            return rows, 0
        return rows, rows[0]["window_total"] if isinstance(rows[0], dict) else rows[0].window_total
