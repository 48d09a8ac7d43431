"""Reads of the partners' network that are more than a filter: the practice library's search; the registrations
that can still end."""

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Func, Q, RowRange, TextField, Value, Window
from django.db.models.functions import Concat, Left
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from vielfalt.pagination import page_number

from .models import PracticeEntry, Registration

MAX_QUERY = 200
SNIPPET_SOURCE = 3000
# Private-use characters around each hit: the snippet is escaped as a whole, then they become <mark>.
START, STOP = "\ue000", "\ue001"


def registrations_of_accounts_to_end(user_ids):
    """The registrations these accounts made for themselves that are not cancelled, for meetings that have not
    begun and are not cancelled: those the accounts give up when they are deactivated
    (services.registrations_end_for_accounts), each with an audit entry."""
    return (
        Registration.objects.filter(user_id__in=list(user_ids))
        .exclude(status=Registration.Status.CANCELLED)
        .filter(meeting__starts_at__gt=timezone.now(), meeting__cancelled_at=None)
    )


def full_text() -> bool:
    return connection.vendor == "postgresql"


def search_query(text: str) -> SearchQuery:
    # "websearch": words are ANDed, "quoted phrases" and -exclusions work as users expect from search engines.
    return SearchQuery(text, config="german", search_type="websearch")


def practice_search(queryset, text: str):
    """Entries matching `text`, best first. PostgreSQL: German full-text search over the stored vector of the
    whole entry (GIN index), ranked by the stored vector of title and summary (a match only in the text ranks
    below those, newest first); elsewhere each word must occur in the title, summary or text."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return queryset
    if full_text():
        query = search_query(text)
        return (
            queryset.filter(search_vector=query)
            .annotate(rank=SearchRank(F("rank_vector"), query))
            .order_by("-rank", "-pk")
        )
    for word in text.split()[:8]:
        queryset = queryset.filter(
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(what_was_done__icontains=word)
        )
    return queryset


def practice_headline(text: str):
    """The expression of an entry's highlighted snippet for `text` (PostgreSQL; None elsewhere or without text),
    to annotate only the rows of the page shown: ts_headline re-parses the text and is the costly part."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text or not full_text():
        return None
    # The beginning of the text is enough for a snippet; ts_headline's cost grows with the text's length. The
    # markers are taken out of the text first, so that no text of an author can turn into a <mark>.
    document = Concat("summary", Value(" "), Left("what_was_done", SNIPPET_SOURCE), output_field=TextField())
    return SearchHeadline(
        Func(document, Value(START + STOP), Value(""), function="translate", output_field=TextField()),
        search_query(text),
        config="german",
        start_sel=START,
        stop_sel=STOP,
        max_words=30,
        min_words=12,
        max_fragments=2,
        fragment_delimiter=" … ",
    )


def snippet_html(headline: str | None) -> str | None:
    """A headline with markers as safe HTML: escaped as a whole, then the markers become <mark>."""
    if headline is None:
        return None
    return mark_safe(escape(headline).replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308


def with_snippets(queryset, text: str):
    """`queryset` with each entry's highlighted snippet as `headline` (see snippet_html), where there is one."""
    headline = practice_headline(text)
    return queryset if headline is None else queryset.annotate(headline=headline)


def practice_snippets(entries, text: str) -> dict[int, str]:
    """Highlighted snippets for the given entries (one query; PostgreSQL only), as safe HTML."""
    ids = [entry.pk for entry in entries]
    headline = practice_headline(text)
    if headline is None or not ids:
        return {}
    rows = PracticeEntry.objects.filter(pk__in=ids).annotate(headline=headline).values_list("pk", "headline")
    return {pk: snippet_html(raw) for pk, raw in rows}


def _window_ordering(queryset) -> list:
    """The queryset's ordering as expressions for a window's ORDER BY, if it sorts by a computed annotation
    (a search's rank); none when it sorts by columns only, which the window carries cheaply, and a window
    sorted by them would sort every row rather than keep the top of the page."""
    query = queryset.query
    ordering = query.order_by or (query.get_meta().ordering if query.default_ordering else ())
    if not any(isinstance(item, str) and item.lstrip("-") in query.annotations for item in ordering):
        return []
    expressions = []
    for item in ordering:
        if isinstance(item, str):
            name = item.lstrip("-")
            expressions.append(F(name).desc() if item.startswith("-") else F(name).asc())
        else:
            expressions.append(item)
    return expressions


def counted_page(queryset, number, per_page: int = 20, *, rows=None) -> Page:
    """One page of `queryset` in two narrow queries: the page's keys with the total counted by a window over
    the matches, then the page's rows (`rows`, if given, adds to that query what only the shown rows need).

    For a search, the window is ordered like the page, over the whole frame: PostgreSQL then sorts the matches
    by their rank beneath the window, so the window keeps only keys and sort values (a window under the page's
    ORDER BY keeps every column the ordering needs, the search vector included, and spilled to disk for common
    words)."""
    number = page_number(number)
    offset = (number - 1) * per_page
    window = Window(Count("pk"), order_by=_window_ordering(queryset) or None, frame=RowRange(None, None))
    keys = list(
        queryset.annotate(total_count=window).values_list("pk", "total_count")[offset : offset + per_page]
    )
    if keys:
        total = keys[0][1]
    elif number > 1:
        total = queryset.count()
        if total:  # beyond the last page: show the last one, as Paginator.get_page does
            return counted_page(queryset, -(-total // per_page), per_page, rows=rows)
    else:
        total = 0
    found = {}
    if keys:
        row_queryset = queryset.filter(pk__in=[pk for pk, _total in keys])
        found = {row.pk: row for row in (rows(row_queryset) if rows else row_queryset)}
    paginator = Paginator(queryset, per_page)
    paginator.count = total  # a cached_property: set, it is never computed
    return Page([found[pk] for pk, _total in keys if pk in found], number, paginator)
