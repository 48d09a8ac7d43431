"""The audit log read a page at a time, newest first, from where the last page ended: pages that stay put while
the log grows, and that cost the same however long it has grown."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, hr_user, ministry_user
from tests.helpers import most_rows_touched, statements_with
from tests.partnerships.factories import AgreementFactory, CommitmentFactory
from tests.trainings.factories import CourseDateFactory, CourseFactory
from trainings.models import Enrolment
from vielfalt.audit import audit_record
from vielfalt.models import AuditEntry

pytestmark = pytest.mark.django_db

EXPORT = AuditEntry.Action.EXPORT


def _administrator():
    """The reader of these entries, which are about no object of the partnership and no organisation: the
    administrator reads every entry (the ministry reads the partnership's and its own staff's)."""
    return UserFactory(username="x-admin", is_staff=True, is_superuser=True)


def _page(client, query: str) -> tuple[list[int], str | None, str | None]:
    """(the numbers of the entries "Export n" shown, the newer link's query, the older link's query)."""
    response = client.get(reverse("audit_log") + query)
    assert response.status_code == 200
    text = response.text

    def link(label: str) -> str | None:
        found = re.search(rf'href="\?([^"]*)">{label}</a>', text)
        return found.group(1).replace("&amp;", "&") if found else None

    numbers = [int(n) for n in re.findall(r"<td>Export (\d+)</td>", text)]
    return numbers, link("Neuere Einträge"), link("Ältere Einträge")


def _exports(first: int, last: int) -> None:
    for n in range(first, last + 1):
        audit_record(actor=None, action=EXPORT, object_repr=f"Export {n}")


def test_the_log_pages_from_where_the_last_page_ended_while_entries_arrive(client):
    """Fifty entries a page, newest first. Entries that arrive while someone reads do not push the entries they
    have seen onto the next page again, as page numbers did (an OFFSET counts from the newest entry)."""
    client.force_login(_administrator())
    audit_record(actor=None, action=AuditEntry.Action.LOGIN, object_repr="not an export")
    _exports(1, 120)
    first, newer, older = _page(client, "?action=export")
    assert first == list(range(120, 70, -1))
    assert newer is None and older is not None and "action=export" in older
    _exports(121, 123)  # meanwhile
    second, newer, older = _page(client, "?" + older)
    assert second == list(range(70, 20, -1))  # not 73 … 24: nothing of the first page again
    third, newer_from_third, oldest = _page(client, "?" + older)
    assert third == list(range(20, 0, -1)) and oldest is None
    assert _page(client, "?" + newer_from_third)[0] == second
    # Right before the second page: the first page as it was, and before it what arrived meanwhile.
    numbers, newest, _older = _page(client, "?" + newer)
    assert numbers == first
    assert _page(client, "?" + newest)[0] == list(range(123, 73, -1))


@pytest.mark.parametrize(
    "query", ["?before=999999999", "?after=999999999", "?before=abc", "?after=-1", "?page=7"]
)
def test_a_cursor_that_names_no_entry_shows_the_newest_page(client, query):
    client.force_login(_administrator())
    _exports(1, 60)
    numbers, newer, older = _page(client, query + "&action=export")
    assert numbers == list(range(60, 10, -1)) and newer is None and older


def test_an_entry_outside_the_filter_is_no_cursor(client):
    """The cursor is read through the same filter as the page: an id of another kind of entry (or one the user
    could not see) shows the newest page of the filtered log."""
    client.force_login(_administrator())
    login = audit_record(actor=None, action=AuditEntry.Action.LOGIN, object_repr="login")
    _exports(1, 3)
    assert _page(client, f"?action=export&before={login.pk}")[0] == [3, 2, 1]


def _plans(client, query: str) -> list[str]:
    """PostgreSQL's plans, as run, of the page's statements that read the audit log."""
    with statements_with("vielfalt_auditentry") as statements:
        assert client.get(reverse("audit_log") + query).status_code == 200
    assert statements
    plans = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN (ANALYZE) " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


def test_each_page_of_a_long_log_reads_its_entries_and_no_more(client):
    """20,000 entries: the newest page, a page deep in the log, and each filter read about a page of entries.
    Before, every page counted the whole log, a page deep in it read and dropped every entry before it, and a
    filter by user or a search in the descriptions read every entry."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    client.force_login(_administrator())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO vielfalt_auditentry (at, actor_name, action, object_id, object_repr, changes)"
            " SELECT now() - g * interval '1 minute', 'hr-' || (g % 200),"
            " (ARRAY['login', 'create', 'change', 'export'])[1 + g % 4], '', 'Eintrag ' || g, '{}'"
            " FROM generate_series(1, 20000) g"
        )
        cursor.execute("ANALYZE vielfalt_auditentry")
        cursor.execute("SELECT id FROM vielfalt_auditentry WHERE object_repr = 'Eintrag 12345'")
        deep = cursor.fetchone()[0]
    pages = ["", f"?before={deep}", f"?after={deep}", "?action=export", "?action=purge", "?actor_name=HR-17"]
    for query in pages:
        for plan in _plans(client, query):
            assert "Aggregate" not in plan, (query, plan)
            assert most_rows_touched(plan) <= 120, (query, plan)
    # The search through the trigram index (sequential scans off: 20,000 short entries are cheaper to read
    # whole than to look up by trigrams as common as these; 500,000 are not). Plain index scans off too: walking
    # the log's time index backwards and filtering each entry is the other way to read 20,000 whole, and which
    # of the two PostgreSQL picks depends on the sample ANALYZE happened to take (one CI run picked it).
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    for search in ["Eintrag+1234", "G"]:  # "G": the start of a word ("Eintrag 1234" has none)
        (plan,) = _plans(client, "?object_repr=" + search)
        assert "Bitmap Index Scan on audit_object_search" in plan, plan
        # The entries read from the table, matching or not. (Not the index's candidates: those include the
        # entries of earlier tests' rolled-back transactions, which only a vacuum removes from the index.)
        read = int(
            re.search(r"Bitmap Heap Scan on vielfalt_auditentry .*actual time=\S+ rows=(\d+)", plan)[1]
        )
        removed = sum(int(n) for n in re.findall(r"Rows Removed by (?:Index Recheck|Filter): (\d+)", plan))
        assert read + removed <= 120, plan


def test_one_or_two_characters_are_looked_for_at_the_start_of_a_word_of_the_object(client):
    client.force_login(_administrator())
    for text in [
        "Lê, Anna (SC-1)",
        "Nguyễn-Lê, Minh (SC-2)",
        "Kurs (Lê Thị)",
        "Bolê, Jan (SC-3)",
        "Öztürk (SC-4)",
    ]:
        audit_record(actor=None, action=EXPORT, object_repr=text)

    def found(word):
        text = client.get(reverse("audit_log"), {"object_repr": word}).text
        return sorted(re.findall(r"<td>([^<]*\(SC-\d\)|Kurs \(Lê Thị\))</td>", text))

    assert found("lê") == ["Kurs (Lê Thị)", "Lê, Anna (SC-1)", "Nguyễn-Lê, Minh (SC-2)"]
    assert found("ö") == ["Öztürk (SC-4)"]
    assert found("l.") == []  # "." is a character like any other, not a pattern
    assert found("olê") == ["Bolê, Jan (SC-3)"]  # three characters: anywhere


def _shown(client, **query) -> tuple[str, set[tuple[str, str]]]:
    """The audit page's text and the (action, object) of each entry it shows."""
    response = client.get(reverse("audit_log"), query)
    assert response.status_code == 200
    return response.text, {(row[2], row[3]) for row in response.context["rows"]}


def test_the_ministry_reads_the_log_of_the_partnership_and_of_its_own_staff(client):
    """The ministry reads what a city's HR did with the city's agreement and its commitments, and its own
    staff's logins; not the city's logins and failed logins, nor what the city did with its employees and their
    enrolments (which name the employee), nor its survey campaigns. Before, AuditEntry.visible_to gave
    Role.MINISTRY the whole log of every city. The administrator still reads every entry."""
    ministry = ministry_user(username="m-ministry")
    city = OrganisationFactory(slug="duisburg", name="Stadt Duisburg")
    city_hr = hr_user(city, username="h-duisburg")
    admin = UserFactory(username="x-admin", is_staff=True, is_superuser=True)
    employee = EmployeeFactory(organisation=city, last_name="Yılmazoğlu")
    agreement = AgreementFactory(partner=city, title="Vereinbarung Duisburg")
    commitment = CommitmentFactory(agreement=agreement)
    course_date = CourseDateFactory(course=CourseFactory(organiser=city))
    enrolment = Enrolment.objects.create(course_date=course_date, employee=employee, organisation=city)
    Action = AuditEntry.Action
    shown = [
        audit_record(actor=city_hr, action=Action.CHANGE, obj=agreement, changes={"title": ["a", "b"]}),
        audit_record(actor=None, action=Action.CREATE, obj=commitment),
        audit_record(actor=ministry, action=Action.LOGIN, obj=ministry),
        audit_record(actor=None, action=Action.LOGIN_FAILED, obj=ministry, object_repr=ministry.username),
    ]
    hidden = [
        audit_record(actor=city_hr, action=Action.LOGIN, obj=city_hr),
        audit_record(actor=None, action=Action.LOGIN_FAILED, obj=city_hr, object_repr=city_hr.username),
        audit_record(actor=city_hr, action=Action.CHANGE, obj=employee, changes={"email": ["a", "b"]}),
        audit_record(actor=city_hr, action=Action.CREATE, obj=enrolment),
    ]
    every = {entry.pk for entry in shown + hidden}
    assert {entry.pk for entry in AuditEntry.objects.visible_to(ministry)} == {entry.pk for entry in shown}
    assert {entry.pk for entry in AuditEntry.objects.visible_to(admin)} >= every

    client.force_login(admin)
    text, seen = _shown(client, object_repr="Yılmazoğlu")
    assert ("geändert", str(employee)) in seen and "Yılmazoğlu" in text
    assert ("angemeldet", str(city_hr)) in _shown(client, actor_name="h-duisburg")[1]

    client.force_login(ministry)
    text, seen = _shown(client)
    assert seen >= {("geändert", str(agreement)), ("angemeldet", str(ministry))}
    assert "Yılmazoğlu" not in text and ("angemeldet", str(city_hr)) not in seen
    assert _shown(client, actor_name="h-duisburg")[1] == {("geändert", str(agreement))}
    assert _shown(client, object_repr="Yılmazoğlu")[1] == set()
    assert _shown(client, object_repr="h-duisburg")[1] == set()
    assert ("Anmeldung fehlgeschlagen", "m-ministry") in _shown(client, object_repr="m-ministry")[1]
