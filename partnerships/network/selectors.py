"""Reads of the partners' network that are more than a filter: the practice library's search."""

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, Q, TextField, Value, Window
from django.db.models.functions import Concat, Left
from django.utils.html import escape
from django.utils.safestring import mark_safe

from .models import PracticeEntry

MAX_QUERY = 200
SNIPPET_SOURCE = 3000
# Private-use characters around each hit: the snippet is escaped as a whole, then they become <mark>.
START, STOP = "\ue000", "\ue001"


def full_text() -> bool:
    return connection.vendor == "postgresql"


def search_query(text: str) -> SearchQuery:
    # "websearch": words are ANDed, "quoted phrases" and -exclusions work as users expect from search engines.
    return SearchQuery(text, config="german", search_type="websearch")


def practice_search(queryset, text: str):
    """Entries matching `text`, best first. PostgreSQL: German full-text search over the stored weighted
    vector (GIN index), ranked; elsewhere each word must occur in the title, summary or text."""
    text = (text or "").strip()[:MAX_QUERY]
    if not text:
        return queryset
    if full_text():
        query = search_query(text)
        return (
            queryset.filter(search_vector=query)
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank", "-pk")
        )
    for word in text.split()[:8]:
        queryset = queryset.filter(
            Q(title__icontains=word) | Q(summary__icontains=word) | Q(what_was_done__icontains=word)
        )
    return queryset


def practice_snippets(entries, text: str) -> dict[int, str]:
    """Highlighted snippets for the entries on one page (one query; PostgreSQL only), as safe HTML."""
    text = (text or "").strip()[:MAX_QUERY]
    ids = [entry.pk for entry in entries]
    if not text or not ids or not full_text():
        return {}
    # The beginning of the text is enough for a snippet; ts_headline's cost grows with the text's length.
    document = Concat("summary", Value(" "), Left("what_was_done", SNIPPET_SOURCE), output_field=TextField())
    rows = PracticeEntry.objects.filter(pk__in=ids).annotate(
        headline=SearchHeadline(
            document,
            search_query(text),
            config="german",
            start_sel=START,
            stop_sel=STOP,
            max_words=30,
            min_words=12,
            max_fragments=2,
            fragment_delimiter=" … ",
        )
    )
    return {
        pk: mark_safe(escape(headline).replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308
        for pk, headline in rows.values_list("pk", "headline")
    }


def counted_page(queryset, number, per_page: int = 20) -> Page:
    """One page of `queryset` in two narrow queries: the page's keys with the total counted by a window over
    the matches (a search scans and ranks its matches once, carrying only keys), then the page's rows."""
    try:
        number = max(int(number), 1)
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    keys = list(
        queryset.annotate(total_count=Window(Count("pk"))).values_list("pk", "total_count")[
            offset : offset + per_page
        ]
    )
    if keys:
        total = keys[0][1]
    elif number > 1:
        total = queryset.count()
        if total:  # beyond the last page: show the last one, as Paginator.get_page does
            return counted_page(queryset, -(-total // per_page), per_page)
    else:
        total = 0
    rows = {row.pk: row for row in queryset.filter(pk__in=[pk for pk, _total in keys])} if keys else {}
    paginator = Paginator(queryset, per_page)
    paginator.count = total  # a cached_property: set, it is never computed
    return Page([rows[pk] for pk, _total in keys if pk in rows], number, paginator)
