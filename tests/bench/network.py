"""Benchmarks of issue 15 (the partners' network): German full-text search of the practice library over the
10,000 entries of seed_scale, in-process (selector, count, first page and highlighted snippets), and the query
count of the library's list page."""

import statistics
from urllib.parse import urlencode

from partnerships.network.models import PracticeEntry
from partnerships.network.selectors import counted_page, practice_search, practice_snippets

from .common import Row, say, timed
from .scale import logged_in, query_count, scale
from .seed import Seeded

SEARCHES = [
    "anonymisierte Bewerbungsverfahren",
    "Ausländerbehörden",
    "Schulungen",
    "Personalrat Dienstvereinbarung",
]
REPEAT = 15
TARGET_SECONDS = 0.050


def search_once(user, text: str) -> int:
    """What the library page does for one search: count, first page of 20, snippets for that page."""
    entries = practice_search(
        PracticeEntry.objects.visible_to(user).published().select_related("organisation"), text
    )
    page = counted_page(entries.defer("what_was_done", "effort", "what_worked", "what_did_not_work"), 1)
    practice_snippets(page.object_list, text)
    return page.paginator.count


def bench_practice_search(seeded: Seeded) -> list[Row]:
    user = scale().hr
    entries = PracticeEntry.objects.filter(organisation__slug__startswith="scale-p").count()
    rows = []
    for text in SEARCHES:
        search_once(user, text)  # warm-up
        times = []
        total = 0
        for _ in range(REPEAT):
            seconds, total = timed(lambda text=text: search_once(user, text))
            times.append(seconds)
        median = statistics.median(times)
        say(f"search {text!r}: {total} hits, median {median * 1000:.1f} ms")
        rows.append(
            Row(
                figure=f"Practice search “{text}” over {entries:,} entries ({total:,} hits), in-process median",
                value=f"{median * 1000:.1f} ms",
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
