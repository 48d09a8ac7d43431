"""Paginators that spare the database a second reading of the rows a page is taken from: each reads the page
first and learns the total from it where it can, and serves every page number as Django's Paginator does. A log
that only grows (the audit log) is read instead from where the last page ended (`newest_first`), without page
numbers or a total."""

from dataclasses import dataclass

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Window

from .validation import submitted_id

# The highest page number a paginator reads from the database: a page past it lies past the end of any list.
# Its offset must fit PostgreSQL's OFFSET (a bigint): "?page=99999999999999999999" answered 500 ("bigint out of
# range") wherever a page is read before the total is known.
MAX_PAGE = 10**9


def page_number(value) -> int:
    """A page number from a request as the paginators here read it: 1 for none or garbage, at most MAX_PAGE."""
    try:
        return min(max(int(value), 1), MAX_PAGE)
    except (TypeError, ValueError):
        return 1


def query_without(query, name: str = "page") -> str:
    """A request's query string without `name` (the parameter a pagination's links set themselves)."""
    query = query.copy()
    query.pop(name, None)
    return query.urlencode()


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
        if (
            "count" in self.__dict__
            or self.orphans
            or not isinstance(number, int)
            or not 1 <= number <= MAX_PAGE
        ):
            return super().page(number)  # validated against the total (past MAX_PAGE: past the end)
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


class ReadPaginator(PageFirstPaginator):
    """Pages of a list that reads them itself: `object_list.read(start, count)` gives the rows of a page and how
    many there are in all (None where no row tells: past the end), in one statement (e.g.
    trainings.selectors.UnitReport); `count()` and slicing as Paginator uses them for a number past the end."""

    def _read(self, bottom):
        return self.object_list.read(bottom, self.per_page)


class GroupedPaginator(Paginator):
    """A list sorted by a group first (an employee's org unit) and within each group along an index, paged from
    the groups' sizes: `groups` are (key, number of rows) in the list's order, `read(key, start, stop)` the
    group's rows from `start` to `stop` in the list's order. A page reads the one or two groups it falls in,
    each from its own place in the index, instead of sorting the whole list by group to skip to the page (a
    city's 100,000 employees by org unit: 45 ms a page)."""

    def __init__(self, object_list, per_page, *, groups, read, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.groups = groups
        self.read = read
        self.count = sum(size for _key, size in groups)  # a cached_property: set, it is never computed

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows, start = [], 0
        for key, size in self.groups:
            end = start + size
            if start < top and end > bottom:
                rows.extend(self.read(key, max(bottom - start, 0), min(top, end) - start))
            if end >= top:
                break
            start = end
        return self._get_page(rows, number, self)


@dataclass(frozen=True)
class NewestFirstPage:
    rows: list
    newer: int | None  # the id to read newer entries after (`?after=`), None on the newest page
    older: int | None  # the id to read older entries before (`?before=`), None on the oldest page


def cursor(value) -> int | None:
    """An `?after=`/`?before=` value: the id of an entry, or None for anything else."""
    return submitted_id(value)


def newest_first(queryset, *, before=None, after=None, per_page: int, time: str = "at") -> NewestFirstPage:
    """A page of `queryset` (dictionaries with "pk") newest first, by `time` and then id, read from where the
    last page ended: the entries right before the entry `before`, or right after the entry `after`, or the
    newest. Each page reads its rows and one more from an index in this order, so that it costs the same on
    page 1 as on page 10,000 (an OFFSET reads and drops every row before the page, and a page number needs the
    total, a COUNT of the whole list), and entries added meanwhile do not push rows onto the next page twice.
    A cursor that names no entry of `queryset` gives the newest page."""
    newest = queryset.order_by(f"-{time}", "-pk")
    mark = before if before is not None else after
    at = None if mark is None else queryset.filter(pk=mark).values_list(time, flat=True).first()
    if at is not None and before is not None:
        rows = list(
            newest.filter(**{f"{time}__lte": at}).exclude(**{time: at, "pk__gte": mark})[: per_page + 1]
        )
        older = rows[per_page - 1]["pk"] if len(rows) > per_page else None
        rows = rows[:per_page]
        return NewestFirstPage(rows, rows[0]["pk"] if rows else mark, older)
    if at is not None:
        oldest = queryset.order_by(time, "pk")
        rows = list(
            oldest.filter(**{f"{time}__gte": at}).exclude(**{time: at, "pk__lte": mark})[: per_page + 1]
        )
        if len(rows) > per_page:  # more follow beyond this page; otherwise it is the newest page
            rows = rows[:per_page][::-1]
            return NewestFirstPage(rows, rows[0]["pk"], rows[-1]["pk"])
    rows = list(newest[: per_page + 1])
    return NewestFirstPage(rows[:per_page], None, rows[per_page - 1]["pk"] if len(rows) > per_page else None)
