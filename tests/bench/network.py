"""Benchmarks of issue 15 (the partners' network): German full-text search of the practice library over the
10,000 entries of seed_scale, in-process (selector, count, first page and highlighted snippets), and the query
count of the library's list page."""

import statistics
import time
from urllib.parse import urlencode

from partnerships.network.models import PracticeEntry
from partnerships.network.selectors import counted_page, practice_search, snippet_html, with_snippets

from .common import Row, say, timed
from .pages import _backend_cpu
from .scale import logged_in, query_count, scale
from .seed import Seeded

SEARCHES = [
    "anonymisierte Bewerbungsverfahren",
    "Ausländerbehörden",
    "Schulungen",
    "Personalrat Dienstvereinbarung",
    "Kosten",  # the worst case: a common word, in more than half of the library
    '"Ein Leitfaden"',  # a phrase: the index cannot tell positions, every candidate is checked
    "Duisburg",  # a word in no entry: the index alone answers
]
REPEAT = 15
TARGET_SECONDS = 0.050


def search_once(user, text: str) -> int:
    """What the library page does for one search: count, first page of 20, snippets for that page."""
    entries = practice_search(
        PracticeEntry.objects.visible_to(user).published().select_related("organisation"), text
    )
    page = counted_page(
        entries.defer(
            "what_was_done", "effort", "what_worked", "what_did_not_work", "search_vector", "rank_vector"
        ),
        1,
        rows=lambda rows: with_snippets(rows, text),
    )
    [snippet_html(entry.headline) for entry in page.object_list]
    return page.paginator.count


def bench_practice_search(seeded: Seeded) -> list[Row]:
    """Each search as a partner's HR (published entries and their own) and, for the worst case, as the
    ministry (which may see every entry: its visibility filter is empty)."""
    entries = PracticeEntry.objects.filter(organisation__slug__startswith="scale-p").count()
    rows = []
    for user, text in [(scale().hr, text) for text in SEARCHES] + [(scale().ministry, "Kosten")]:
        search_once(user, text)  # warm-up
        times, costs = [], []
        total = 0
        for _ in range(REPEAT):
            _pid, backend_start = _backend_cpu()
            cpu_start = time.process_time()
            seconds, total = timed(lambda user=user, text=text: search_once(user, text))
            times.append(seconds)
            costs.append(time.process_time() - cpu_start + _backend_cpu()[1] - backend_start)
        median = statistics.median(times)
        cost = statistics.median(costs)
        who = "ministry" if user == scale().ministry else "HR"
        say(
            f"search {text!r} as {who}: {total} hits, median {median * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms,"
            f" CPU of this process and its PostgreSQL backend {cost * 1000:.1f} ms"
        )
        rows.append(
            Row(
                figure=f"Practice search “{text}” as {who} over {entries:,} entries ({total:,} hits), in-process median",
                value=f"{median * 1000:.1f} ms (CPU+PG {cost * 1000:.1f} ms)",
                target="≤ 50 ms",
                passed=median <= TARGET_SECONDS,
            )
        )
    return rows


def bench_practice_list_queries(seeded: Seeded) -> list[Row]:
    client = logged_in(scale().hr)
    path = "/network/practice/?" + urlencode({"q": "anonymisierte Bewerbungsverfahren"})
    count = query_count(client, path)
    return [
        Row(figure="Practice library search page: queries", value=str(count), target="≤ 8", passed=count <= 8)
    ]


BENCHMARKS = [bench_practice_search, bench_practice_list_queries]
