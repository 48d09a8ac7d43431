"""vielfalt.formats: dates formatted exactly as the `date` filter formats them."""

from datetime import UTC, datetime

import pytest
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

from vielfalt.formats import datetime_formatter

MOMENTS = [
    datetime(2026, 1, 5, 7, 3, tzinfo=UTC),  # winter time, single digits
    datetime(2026, 7, 31, 22, 45, tzinfo=UTC),  # summer time, the next day in Berlin
    datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 1, 11, 0, tzinfo=UTC),  # noon in Berlin ("noon" in English)
]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize(
    "format_name", ["SHORT_DATETIME_FORMAT", "DATETIME_FORMAT", "SHORT_DATE_FORMAT", "TIME_FORMAT"]
)
def test_datetime_formatter_formats_as_the_date_filter(language, format_name):
    with translation.override(language):
        formatter = datetime_formatter(format_name)
        for moment in MOMENTS:
            assert formatter(moment) == date_filter(timezone.localtime(moment), format_name)
        assert formatter(None) == ""


@pytest.mark.parametrize(
    "fmt", [r"j.n.Y \u\m G:i:s", "{d}.{m}.Y", r"Y-m-d\TH:i", "100 % d", "Y", r"\d\a\y", "d. F Y"]
)
def test_datetime_formatter_formats_any_format_as_the_date_filter(fmt):
    with translation.override("de"):
        formatter = datetime_formatter(fmt)
        for moment in MOMENTS:
            assert formatter(moment) == date_filter(timezone.localtime(moment), fmt)


def test_datetime_formatter_reads_the_time_zone_when_it_is_made():
    with translation.override("de"), timezone.override("Asia/Tokyo"):
        formatter = datetime_formatter("SHORT_DATETIME_FORMAT")
    with translation.override("en"):
        assert formatter(MOMENTS[0]) == "05.01.2026 16:03"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "short", "long"),
    [("de", "07.03.2013", "7. März 2013"), ("en", "2013-03-07", "7 March 2013")],
)
def test_no_reader_in_germany_can_misread_a_date(client, language, short, long):
    """Django's English wrote 7 March 2013 as "03/07/2013", which British and European readers (and Germans
    reading the portal in English) take for 3 July. vielfalt.locale_formats: the year first, or the month named."""
    from datetime import date

    from django.urls import reverse

    from tests.factories import ministry_user
    from tests.partnerships.factories import AgreementFactory

    with translation.override(language):
        assert date_filter(date(2013, 3, 7), "SHORT_DATE_FORMAT") == short
        assert date_filter(date(2013, 3, 7), "DATE_FORMAT") == long
    staff = ministry_user()
    AgreementFactory(state_party=staff.memberships.get().organisation, signed_on=date(2013, 3, 7))
    client.cookies["django_language"] = language
    client.force_login(staff)
    page = client.get(reverse("partnerships:index")).text
    assert short in page and "03/07/2013" not in page


@pytest.mark.parametrize(
    ("moment", "time"),
    [(MOMENTS[0], "08:03"), (MOMENTS[3], "12:00"), (datetime(2026, 3, 1, 23, 0, tzinfo=UTC), "00:00")],
)
def test_english_times_are_on_the_24_hour_clock(moment, time):
    """Django's English "8:03 a.m." ended a sentence in "a.m.." ("Last run: 2026-12-07 1:45 a.m..") and wrote
    midnight as "midnight" or "12 a.m."."""
    with translation.override("en"):
        local = timezone.localtime(moment)
        assert date_filter(local, "TIME_FORMAT") == time
        assert date_filter(local, "SHORT_DATETIME_FORMAT").endswith(f" {time}")
        assert date_filter(local, "DATETIME_FORMAT").endswith(f", {time}")
