"""The employee list's total and the start page's figures come from EmployeeCount, kept by PostgreSQL triggers
through every kind of write per organisation, org unit, target group and status, instead of a COUNT over up to
100,000 rows on every page. A search reads trigram indexes."""

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import need
from tests.factories import (
    EmployeeFactory,
    OrganisationFactory,
    OrgUnitFactory,
    UserFactory,
    hr_user,
    many_employees,
)
from tests.helpers import most_rows_touched, statements_with
from vielfalt import views
from vielfalt.models import Employee, EmployeeCount, Role, TargetGroup, employee_total
from vielfalt.permissions import SYSTEM
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db

COUNTING = 'COUNT(*) AS "__count" FROM "vielfalt_employee"'


def counts(*organisations) -> list[int]:
    return [employee_total([organisation.pk]) for organisation in organisations]


def kept() -> dict[tuple, int]:
    """The counts kept, without the keys that came back to zero."""
    return {
        (row.organisation_id, row.unit, row.target_group, row.is_active): row.employees
        for row in EmployeeCount.objects.all()
        if row.employees
    }


def counted() -> dict[tuple, int]:
    """The same counted from the employees."""
    found: dict[tuple, int] = {}
    for employee in Employee.objects.all():
        key = (employee.organisation_id, employee.org_unit_id or 0, employee.target_group, employee.is_active)
        found[key] = found.get(key, 0) + 1
    return found


def found(response) -> int:
    number = re.search(r"([\d.]+) (Beschäftigte|beschäftigte Person) gefunden", response.text).group(1)
    return int(number.replace(".", ""))


def test_every_kind_of_write_keeps_the_count():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    first = EmployeeFactory(organisation=duisburg)
    EmployeeFactory(organisation=oberhausen)
    assert counts(duisburg, oberhausen) == [1, 1]

    data = "Personalnummer;Nachname;Vorname\nNEU-1;Nguyễn;Lan\nNEU-2;Öztürk;Ayşe\n".encode()
    employees_import_file(actor=SYSTEM, organisation=duisburg, data=data)  # bulk_create
    assert counts(duisburg, oberhausen) == [3, 1]

    Employee.objects.filter(pk=first.pk).update(is_active=False)  # a status of its own
    assert counts(duisburg, oberhausen) == [3, 1]
    assert employee_total([duisburg.pk], is_active=False) == 1
    Employee.objects.filter(pk=first.pk).update(organisation=oberhausen)  # moved
    assert counts(duisburg, oberhausen) == [2, 2]
    assert kept() == counted()

    with connection.cursor() as cursor:  # plain SQL too
        cursor.execute("DELETE FROM vielfalt_employee WHERE organisation_id = %s", [duisburg.pk])
    assert counts(duisburg, oberhausen) == [0, 2]
    first.refresh_from_db()
    first.delete()
    assert counts(duisburg, oberhausen) == [0, 1]
    assert employee_total([duisburg.pk, oberhausen.pk]) == 1
    assert employee_total(None) == Employee.objects.count()
    assert kept() == counted()


def test_units_target_groups_and_status_are_counted_apart():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    office, school = OrgUnitFactory(organisation=city), OrgUnitFactory(organisation=city)
    EmployeeFactory.create_batch(
        3, organisation=city, org_unit=office, target_group=TargetGroup.PUBLIC_FACING
    )
    trainee = EmployeeFactory(organisation=city, org_unit=school, target_group=TargetGroup.TRAINEE)
    nowhere = EmployeeFactory(organisation=city, org_unit=None, target_group=TargetGroup.OTHER)
    assert employee_total([city.pk], unit=office.pk) == 3
    assert employee_total([city.pk], unit=0) == 1  # without an org unit
    assert employee_total([city.pk], target_group=TargetGroup.TRAINEE) == 1

    # Moved between units, groups and status in one statement, and back in another.
    Employee.objects.filter(pk__in=[trainee.pk, nowhere.pk]).update(org_unit=office, is_active=False)
    assert employee_total([city.pk], unit=office.pk) == 5
    assert employee_total([city.pk], unit=office.pk, is_active=True) == 3
    assert employee_total([city.pk], unit=school.pk) == 0
    Employee.objects.filter(pk=trainee.pk).update(org_unit=school, target_group=TargetGroup.MANAGER)
    assert employee_total([city.pk], target_group=TargetGroup.MANAGER, is_active=False) == 1
    assert kept() == counted()

    # A rolled back change leaves the counts as they were.
    with pytest.raises(RuntimeError), transaction.atomic():
        Employee.objects.filter(organisation=city).delete()
        raise RuntimeError
    assert kept() == counted()


def test_the_list_counts_no_rows_unless_searching(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    office = OrgUnitFactory(organisation=city)
    EmployeeFactory.create_batch(3, organisation=city, last_name="Schmidt", org_unit=office)
    EmployeeFactory(organisation=city, last_name="Yılmaz", target_group=TargetGroup.TRAINEE, is_active=False)
    EmployeeFactory(organisation=OrganisationFactory(), target_group=TargetGroup.TRAINEE)
    client.force_login(hr_user(city))
    url = reverse("employee_list")

    for query, expected in [
        ({}, 4),
        ({"page": "1", "ordering": "last_name"}, 4),
        ({"org_unit": office.pk}, 3),
        ({"target_group": TargetGroup.TRAINEE}, 1),
        ({"is_active": "false"}, 1),
        ({"is_active": "true", "org_unit": office.pk, "target_group": ""}, 3),
        ({"unknown": "x"}, 4),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, query)
        assert found(response) == expected, query
        assert not [q["sql"] for q in queries.captured_queries if COUNTING in q["sql"]], query

    with CaptureQueriesContext(connection) as queries:
        assert found(client.get(url, {"q": "Schmidt"})) == 3
    # A search counts its matches with the page's own statement (COUNT(*) OVER ()), not in a second one.
    assert not [q["sql"] for q in queries.captured_queries if COUNTING in q["sql"]]
    assert len([q for q in queries.captured_queries if 'FROM "vielfalt_employee"' in q["sql"]]) == 1
    # Another city's unit is no option: an empty list, counted (no rows), not another city's figure.
    other_unit = OrgUnitFactory()
    EmployeeFactory(organisation=other_unit.organisation, org_unit=other_unit)
    assert "0 Beschäftigte gefunden" in client.get(url, {"org_unit": other_unit.pk}).text


def test_a_search_counts_its_matches_with_its_page(client, monkeypatch):
    """Every page of a search, the last one and one past the end, with the total of all its matches."""
    city = OrganisationFactory()
    for number in range(5):
        EmployeeFactory(organisation=city, last_name=f"Schmidt {number}")
    EmployeeFactory(organisation=city, last_name="Yılmaz")
    monkeypatch.setattr(views.EmployeeListView, "paginate_by", 2)
    client.force_login(hr_user(city))
    url = reverse("employee_list")
    for page, names in [("1", ["Schmidt 0", "Schmidt 1"]), ("3", ["Schmidt 4"]), ("last", ["Schmidt 4"])]:
        response = client.get(url, {"q": "schmidt", "page": page})
        assert found(response) == 5, page
        assert [row[2].partition(",")[0] for row in response.context["rows"]] == names, page
        assert "Seite 2 von 3" in client.get(url, {"q": "schmidt", "page": "2"}).text
    assert client.get(url, {"q": "schmidt", "page": "4"}).status_code == 404
    assert found(client.get(url, {"q": "niemand"})) == 0


def test_the_start_page_counts_no_rows(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory(name="Stadt Duisburg")
    EmployeeFactory.create_batch(2, organisation=city)
    EmployeeFactory(organisation=city, is_active=False)
    EmployeeFactory(organisation=OrganisationFactory())
    client.force_login(hr_user(city))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert "Stadt Duisburg: 2 von 3 aktiv" in response.text
    assert not [q["sql"] for q in queries.captured_queries if 'FROM "vielfalt_employee"' in q["sql"]]


def test_the_start_page_groups_large_figures(client, monkeypatch):
    """On SQLite too, where the figures are counted from the employees."""
    city = OrganisationFactory(name="Stadt Köln")
    EmployeeFactory.create_batch(3, organisation=city)
    client.force_login(hr_user(city))
    assert "Stadt Köln: 3 von 3 aktiv" in client.get(reverse("home")).text
    figures = [{"organisation__name": "Stadt Köln", "active": 12345, "total": 20000}]
    monkeypatch.setattr(views, "employee_figures", lambda ids: figures)
    assert "Stadt Köln: 12.345 von 20.000 aktiv" in client.get(reverse("home")).text


def _search_plan(client, query, *, analyze: bool = False) -> str:
    """PostgreSQL's plan for the page of the list's search, which counts its matches too (sequential scans off:
    on a table this small, reading it all would be cheaper than any index); with `analyze`, as run."""
    with statements_with("vielfalt_employee", "LIKE") as statements:
        client.get(reverse("employee_list"), query)
    assert len(statements) == 1, statements
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(("EXPLAIN (ANALYZE) " if analyze else "EXPLAIN ") + statements[0][0], statements[0][1])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_search_reads_trigram_indexes_and_sorts_only_the_matches(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city, name="Bürgeramt")
    for last_name in ["Müller", "Yılmaz", "Müllerová", "Abel", "Kaya"]:
        EmployeeFactory(
            organisation=city, last_name=last_name, org_unit=None if last_name == "Müllerová" else unit
        )
    many_employees([(city, unit)])
    client.force_login(hr_user(city))

    page = _search_plan(client, {"q": "müller"})
    assert "employee_search_last_name" in page, page
    assert "WindowAgg" in page, page  # the total with the page
    # The page sorts the matches instead of walking along the list's order until enough turn up.
    # In the order readers expect (vielfalt.collation).
    assert "Sort Key: ((COALESCE(last_name, last_name))" in page, page
    assert "COLLATE vielfalt_names" in page.split("Sort Key:")[1].split("\n")[0], page
    # One organisation's units are named from the filter's options: no join of every match.
    assert "vielfalt_orgunit" not in page, page
    assert "employee_org_order" not in page, page

    def names(query) -> list[str]:
        text = client.get(reverse("employee_list"), query).text
        return re.findall(r"(Müller(?:ová)?|Yılmaz|Abel|Kaya), ", text)

    assert names({"q": "müller"}) == ["Müller", "Müllerová"]
    assert names({"q": "müller", "ordering": "-last_name"}) == ["Müllerová", "Müller"]
    # Without an org unit sorts last, as in the list without a search.
    assert names({"q": "müller", "ordering": "org_unit"}) == ["Müller", "Müllerová"]
    assert names({"q": "müller", "ordering": "-org_unit"}) == ["Müllerová", "Müller"]


def test_a_two_letter_search_reads_the_trigram_indexes_not_the_organisation(client):
    """One or two letters are looked for at the start of a word (EmployeeQuerySet.search), which the trigram
    indexes hold; inside a word they have no trigram, and every employee of the organisation was read."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city)
    for first_name, last_name in [("Anh", "Lê"), ("Minh", "Nguyễn-Lê"), ("Bao", "Alê")]:
        EmployeeFactory(organisation=city, org_unit=unit, first_name=first_name, last_name=last_name)
    many_employees([(city, unit)])
    client.force_login(hr_user(city))

    page = client.get(reverse("employee_list"), {"q": "lê"}).text
    assert re.findall(r"(Lê|Nguyễn-Lê|Alê), ", page) == ["Lê", "Nguyễn-Lê"]  # not Alê
    plan = _search_plan(client, {"q": "lê"}, analyze=True)
    assert "employee_search_last_name" in plan, plan
    # One pattern a name for its start and the start of each of its words, which read the same index entries.
    assert plan.count("Bitmap Index Scan") <= 4, plan
    # No step reads the organisation's 20,000 employees, from the table or from an index.
    assert most_rows_touched(plan) < 100, plan


def test_a_search_reads_only_its_own_organisations_matches(client):
    """The trigram indexes are keyed by organisation first (migration 0021): a name common in another
    organisation costs the search nothing. Before, the indexes gave every organisation's matches, and PostgreSQL
    read each of them from the table only to drop it."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city, other = OrganisationFactory(), OrganisationFactory()
    for last_name in ["Abel", "Berg", "Kaya"]:
        EmployeeFactory(organisation=city, first_name="Lan", last_name=last_name)
    many_employees([(city, None)], first_name="Ada", last_name="Roth")  # 20,000 the search does not find
    many_employees([(other, None)], 2_000)  # named "Lan Ng …"
    client.force_login(hr_user(city))

    assert re.findall(r"(Abel|Berg|Kaya), Lan", client.get(reverse("employee_list"), {"q": "lan"}).text) == [
        "Abel",
        "Berg",
        "Kaya",
    ]
    for query in ({"q": "lan"}, {"q": "ng"}):  # anywhere, and (two letters) at the start of a word
        plan = _search_plan(client, query, analyze=True)
        assert re.search(r"Index Cond: \(\(organisation_id = '\d+'::bigint\) AND", plan), plan
        assert most_rows_touched(plan) < 100, plan


def test_a_unit_or_the_deactivated_are_read_in_the_list_order_of_their_own_index(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    city = OrganisationFactory()
    units = [OrgUnitFactory(organisation=city) for _ in range(4)]
    many_employees([(city, unit) for unit in units], inactive_every=100)
    client.force_login(hr_user(city))
    for query, index, expected in [
        ({"org_unit": units[1].pk}, "employee_unit_order", 5000),
        ({"is_active": "false"}, "employee_inactive_order", 200),
    ]:
        with statements_with('FROM "vielfalt_employee"', "LIMIT") as statements:
            response = client.get(reverse("employee_list"), query)
        assert found(response) == expected
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + statements[0][0], statements[0][1])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert f"Index Scan using {index}" in plan, plan
        assert "Sort" not in plan, plan


def test_an_administrators_list_of_every_organisation_walks_the_name_index(client):
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    cities = [OrganisationFactory() for _ in range(3)]
    many_employees([(city, None) for city in cities], 30_000)
    client.force_login(UserFactory(roles=[(cities[0], Role.ADMIN)]))
    with statements_with('FROM "vielfalt_employee"', "LIMIT") as statements:
        response = client.get(reverse("employee_list"))
    assert found(response) == 30000
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + statements[0][0], statements[0][1])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using employee_name_order" in plan, plan
    assert "Sort" not in plan, plan
