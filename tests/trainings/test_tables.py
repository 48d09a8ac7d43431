"""The table rows the training pages build in Python: every value escaped as a template escapes it."""

from datetime import UTC, datetime
from types import SimpleNamespace

from django.utils import translation

from trainings.tables import course_date_rows, enrolment_rows

MOMENTS = [
    datetime(2026, 1, 5, 7, 3, tzinfo=UTC),  # winter time, single digits
    datetime(2026, 7, 31, 22, 45, tzinfo=UTC),  # summer time, the next day in Berlin
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
]


def test_rows_escape_what_users_typed():
    with translation.override("de"):
        rows = course_date_rows(
            [
                SimpleNamespace(
                    pk=7,
                    starts_at=MOMENTS[0],
                    target_group="",
                    location="<b>Rathaus</b> & Co",
                    capacity=10,
                    enrolment_deadline=MOMENTS[0],
                    cancelled_at=None,
                    seated_count=10,
                    waiting_count=2,
                )
            ],
            url=lambda pk: f"/trainings/dates/{pk}/",
            now=MOMENTS[1],
        )
        seated, waiting = enrolment_rows(
            [
                {
                    "name": "<script>, Eve",
                    "full_name": "Eve <script>",
                    "personnel_number": "P&1",
                    "organisation": 'Stadt "X"',
                    "mail_failed": True,
                    "cancel_url": None,
                    "position": 1,
                }
            ],
            may_organise=False,
            csrf_input="",
        )
    assert '<a href="/trainings/dates/7/">05.01.2026 08:03</a>' in rows
    assert "&lt;b&gt;Rathaus&lt;/b&gt; &amp; Co" in rows
    assert '<span class="badge text-bg-warning">' in rows  # full
    assert seated == ""
    assert "&lt;script&gt;, Eve" in waiting and "P&amp;1" in waiting and "Stadt &quot;X&quot;" in waiting
    assert "<script>" not in waiting
