"""The list pages' filters (vielfalt.filters.PortalFilterSet): every select can go back to "all", the options
are those of whoever asks, and what one request sets on its filters stays in that request."""

import datetime
import re

import django_filters
import pytest
from django.http import QueryDict
from django.urls import reverse

from partnerships.filters import AgreementFilter
from partnerships.models import Agreement
from tests.factories import EmployeeFactory, OrganisationFactory, OrgUnitFactory, hr_user, ministry_user
from tests.partnerships.factories import AgreementFactory
from vielfalt.filters import EmployeeFilter, PortalFilterSet
from vielfalt.models import Employee, Membership, Role

pytestmark = pytest.mark.django_db


def options(html: str, name: str) -> list[tuple[str, bool, str]]:
    """(value, selected, label) of each option of the select named `name`."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [
        (value, bool(selected), label)
        for value, selected, label in re.findall(
            r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select
        )
    ]


def test_every_select_of_the_employee_list_offers_all_and_shows_it_unfiltered(client):
    city = OrganisationFactory()
    EmployeeFactory(organisation=city, is_active=False)
    EmployeeFactory(organisation=city)
    client.force_login(hr_user(city))
    html = client.get(reverse("employee_list")).text
    for name in ("org_unit", "target_group", "is_active"):
        assert options(html, name)[0] == ("", True, "– alle –"), name
    assert "2 Beschäftigte gefunden" in html  # "all" is what is shown
    html = client.get(reverse("employee_list"), {"is_active": "false"}).text
    assert "1 beschäftigte Person gefunden" in html
    assert ("false", True, "inaktiv") in options(html, "is_active")
    assert options(html, "is_active")[0] == ("", False, "– alle –")


@pytest.mark.parametrize(
    ("language", "employees", "agreements"),
    [
        ("de", "Name (Standard)", "Letzte Änderung (Standard)"),
        ("en", "Name (default)", "Last change (default)"),
    ],
)
def test_the_sort_selects_name_the_order_a_list_has_unsorted(client, language, employees, agreements):
    """Not django-filter's "- all -", which says nothing about the order of an unsorted list."""
    city = OrganisationFactory()
    EmployeeFactory(organisation=city, last_name="Yılmaz")
    EmployeeFactory(organisation=city, last_name="Becker")
    client.cookies["django_language"] = language
    client.force_login(hr_user(city))
    response = client.get(reverse("employee_list"))
    assert options(response.text, "ordering")[0] == ("", True, employees)
    assert [row["last_name"] for row in response.context["object_list"]] == ["Becker", "Yılmaz"]
    staff = ministry_user()
    ministry = staff.memberships.get().organisation
    older = AgreementFactory(state_party=ministry)
    newer = AgreementFactory(state_party=ministry)
    Agreement.objects.filter(pk=older.pk).update(updated_at=newer.updated_at - datetime.timedelta(days=1))
    client.force_login(staff)
    response = client.get(reverse("partnerships:index"))
    assert options(response.text, "ordering")[0] == ("", True, agreements)
    assert [row["pk"] for row in response.context["object_list"]][:2] == [newer.pk, older.pk]


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", ["Name (absteigend)", "Personalnummer (absteigend)", "Datum der Unterzeichnung (absteigend)"]),
        ("en", ["Name (descending)", "Personnel number (descending)", "Date of signing (descending)"]),
    ],
)
def test_the_descending_sort_options_are_named_in_the_request_s_language(client, language, expected):
    """django-filter names them on import, in the language active then: an English page offered "(absteigend)"."""
    client.cookies["django_language"] = language
    client.force_login(hr_user(OrganisationFactory()))
    employees = [
        label for _value, _selected, label in options(client.get(reverse("employee_list")).text, "ordering")
    ]
    client.force_login(ministry_user())
    agreements = [
        label
        for _value, _selected, label in options(client.get(reverse("partnerships:index")).text, "ordering")
    ]
    assert expected[0] in employees and expected[1] in employees
    assert expected[2] in agreements
    descending = expected[0].rpartition(" ")[2]  # every column's, in one language
    assert sum(label.endswith(descending) for label in employees + agreements) == 3 + 5


@pytest.mark.parametrize(
    ("language", "found", "page"),
    [
        ("de", "1.001 Beschäftigte gefunden.", "Seite 1 von 21"),
        ("en", "1,001 employees found.", "Page 1 of 21"),
    ],
)
def test_a_list_s_total_and_its_pages_are_grouped_by_thousands(client, language, found, page):
    """ "100000 Beschäftigte gefunden" is hard to read; the total and the number of pages are written as the
    language writes numbers."""
    city = OrganisationFactory()
    unit = OrgUnitFactory(organisation=city)
    Employee.objects.bulk_create(EmployeeFactory.build_batch(1001, organisation=city, org_unit=unit))
    client.cookies["django_language"] = language
    client.force_login(hr_user(city))
    html = client.get(reverse("employee_list")).text
    assert found in html
    assert page in html


def test_the_year_of_signing_offers_all_and_a_year_signed_since_the_last_request(client):
    staff = ministry_user()
    ministry = staff.memberships.get().organisation
    AgreementFactory(state_party=ministry, status="signed", signed_on=datetime.date(2013, 3, 7))
    client.force_login(staff)
    years = options(client.get(reverse("partnerships:index")).text, "year")
    assert years == [("", True, "– alle –"), ("2013", False, "2013")]
    AgreementFactory(state_party=ministry, status="signed", signed_on=datetime.date(2019, 1, 2))
    years = options(client.get(reverse("partnerships:index"), {"year": "2013"}).text, "year")
    assert years == [("", False, "– alle –"), ("2019", False, "2019"), ("2013", True, "2013")]


def test_each_user_is_offered_the_units_of_their_own_organisations_and_can_filter_by_no_other(client):
    duisburg, oberhausen = OrganisationFactory(name="Duisburg"), OrganisationFactory(name="Oberhausen")
    ordnungsamt = OrgUnitFactory(organisation=duisburg, name="Ordnungsamt")
    jugendamt = OrgUnitFactory(organisation=oberhausen, name="Jugendamt")
    in_duisburg = EmployeeFactory(organisation=duisburg, org_unit=ordnungsamt)
    EmployeeFactory(organisation=oberhausen, org_unit=jugendamt)
    for organisation, own, foreign in (
        (duisburg, ordnungsamt, jugendamt),
        (oberhausen, jugendamt, ordnungsamt),
    ):
        client.force_login(hr_user(organisation))  # one after the other: the form class is shared
        html = client.get(reverse("employee_list")).text
        assert options(html, "org_unit") == [("", True, "– alle –"), (str(own.pk), False, own.name)]
        assert 'name="organisation"' not in html  # one organisation: no choice to make
        response = client.get(reverse("employee_list"), {"org_unit": foreign.pk})
        assert list(response.context["object_list"]) == []  # not an option: no rows, not the other city's
    client.force_login(hr_user(duisburg))
    response = client.get(reverse("employee_list"), {"org_unit": ordnungsamt.pk})
    assert [row["pk"] for row in response.context["object_list"]] == [in_duisburg.pk]


def test_someone_acting_for_two_organisations_chooses_between_them(client):
    duisburg, oberhausen = OrganisationFactory(name="Duisburg"), OrganisationFactory(name="Oberhausen")
    essen = OrganisationFactory(name="Essen")  # not theirs
    user = hr_user(duisburg)
    Membership.objects.create(user=user, organisation=oberhausen, role=Role.HR)
    jugendamt = OrgUnitFactory(organisation=oberhausen, name="Jugendamt")
    in_oberhausen = EmployeeFactory(organisation=oberhausen, org_unit=jugendamt)
    EmployeeFactory(organisation=duisburg, org_unit=OrgUnitFactory(organisation=duisburg, name="Ordnungsamt"))
    for organisation in (oberhausen, duisburg):  # the same name in both cities
        OrgUnitFactory(organisation=organisation, name="Amt für Statistik")
    client.force_login(user)
    html = client.get(reverse("employee_list")).text
    assert [label for _value, _selected, label in options(html, "organisation")] == [
        "– alle –",
        "Duisburg",
        "Oberhausen",
    ]
    # No organisation chosen: no units to pick from yet (an administrator's would be thousands), and a hint.
    assert options(html, "org_unit") == [("", True, "– alle –")]
    assert 'aria-describedby="id_org_unit_help"' in html
    assert "wählen Sie zuerst eine Organisation" in html
    # One chosen: its units, by their plain names.
    response = client.get(reverse("employee_list"), {"organisation": oberhausen.pk})
    assert [row["pk"] for row in response.context["object_list"]] == [in_oberhausen.pk]
    assert [label for _value, _selected, label in options(response.text, "org_unit")] == [
        "– alle –",
        "Amt für Statistik",
        "Jugendamt",
    ]
    assert "wählen Sie zuerst eine Organisation" not in response.text
    response = client.get(reverse("employee_list"), {"organisation": oberhausen.pk, "org_unit": jugendamt.pk})
    assert [row["pk"] for row in response.context["object_list"]] == [in_oberhausen.pk]
    # A link that names a unit but no organisation still filters by it, the unit named with its city.
    response = client.get(reverse("employee_list"), {"org_unit": jugendamt.pk})
    assert options(response.text, "org_unit") == [
        ("", False, "– alle –"),
        (str(jugendamt.pk), True, "Jugendamt (Oberhausen)"),
    ]
    assert [row["pk"] for row in response.context["object_list"]] == [in_oberhausen.pk]
    # Another city's unit or organisation is offered by no way of asking, and gives no rows.
    foreign = OrgUnitFactory(organisation=essen, name="Bürgeramt")
    EmployeeFactory(organisation=essen, org_unit=foreign)
    for query in (
        {"org_unit": foreign.pk},
        {"organisation": essen.pk},
        {"organisation": essen.pk, "org_unit": foreign.pk},
    ):
        response = client.get(reverse("employee_list"), query)
        assert list(response.context["object_list"]) == [], query
        assert "Bürgeramt" not in response.text and "Essen" not in response.text, query


def test_what_one_request_sets_on_its_filters_stays_in_that_request():
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    unit = OrgUnitFactory(organisation=duisburg)
    EmployeeFactory(organisation=duisburg, org_unit=unit, last_name="Yılmaz")
    first = EmployeeFilter(
        QueryDict(f"org_unit={unit.pk}&q=Yıl"), queryset=Employee.objects.all(), user=hr_user(duisburg)
    )
    second = EmployeeFilter(
        QueryDict(f"org_unit={unit.pk}"), queryset=Employee.objects.all(), user=hr_user(oberhausen)
    )
    assert first.is_valid() and not second.is_valid()  # the unit is not one of Oberhausen's options
    assert [e.last_name for e in first.qs] == ["Yılmaz"]  # the search method is bound to its own filterset
    assert first.filters["q"] is not EmployeeFilter.base_filters["q"]
    assert first.filters["q"].parent is first and second.filters["q"].parent is second
    assert first.form.fields["org_unit"] is not second.form.fields["org_unit"]
    first.filters["target_group"].extra["choices"] = []
    assert EmployeeFilter.base_filters["target_group"].extra["choices"]  # declared filters untouched
    assert not hasattr(EmployeeFilter.base_filters["org_unit"], "_field")
    agreements = AgreementFilter(QueryDict("year=2013"), queryset=Agreement.objects.all())
    other = AgreementFilter(QueryDict(), queryset=Agreement.objects.all())
    assert type(agreements.form) is type(other.form)  # one form class, built once
    # Its forms share the declared choices and nothing else: what one sets stays in it.
    status, other_status = agreements.form.fields["status"], other.form.fields["status"]
    assert status is not other_status and status.widget is not other_status.widget
    assert status.choices is other_status.choices
    status.widget.attrs["class"] = "form-select"
    status.choices = [("signed", "unterzeichnet")]
    assert other_status.widget.attrs == {} and len(list(other_status.choices)) > 2
    assert len(list(type(other.form).base_fields["status"].choices)) > 2


def test_the_shared_form_class_is_built_from_the_declared_filters_not_a_request_s():
    class OwnAgreementFilter(AgreementFilter):  # a form class of its own, not yet built
        pass

    first = OwnAgreementFilter(QueryDict(), queryset=Agreement.objects.all())
    first.filters["status"].extra["choices"] = [("secret", "Only for the first request")]
    first.filters["status"].label = "Leaked label"
    assert "secret" not in dict(
        first.form.fields["status"].choices
    )  # options per request: choices_for_request
    second = OwnAgreementFilter(QueryDict(), queryset=Agreement.objects.all())
    assert type(second.form) is type(first.form)
    assert "secret" not in dict(second.form.fields["status"].choices) and "signed" in dict(
        second.form.fields["status"].choices
    )
    assert second.form.fields["status"].label == "Status"


def test_a_filter_that_queries_its_own_options_is_refused():
    with pytest.raises(TypeError, match="choices_for_request"):

        class UnitFilter(PortalFilterSet):
            unit = django_filters.ModelChoiceFilter(queryset=Employee.objects.all())

            class Meta:
                model = Employee
                fields = ["unit"]


def test_a_sort_by_a_column_keeps_the_list_s_order_among_equal_values():
    """Sorted by a column with many equal values (an org unit, a status), the rows sharing one stay in the list's
    own order: django-filter's sort by the column alone left each page (LIMIT, OFFSET) free to pick among
    them anew, so that paging repeated rows and skipped others."""
    city = OrganisationFactory()
    units = [OrgUnitFactory(organisation=city, name=name) for name in ("Ordnungsamt", "Bürgeramt")]
    for number, last_name in enumerate(["Weber", "Çelik", "Abel", "Schulz", "Müller", "Demir"]):
        EmployeeFactory(organisation=city, org_unit=units[number % 2], last_name=last_name)
    by_unit = EmployeeFilter(
        QueryDict("ordering=org_unit"), queryset=Employee.objects.all(), user=hr_user(city)
    )
    assert [(e.org_unit.name, e.last_name) for e in by_unit.qs] == [
        ("Bürgeramt", "Çelik"),
        ("Bürgeramt", "Demir"),
        ("Bürgeramt", "Schulz"),
        ("Ordnungsamt", "Abel"),
        ("Ordnungsamt", "Müller"),
        ("Ordnungsamt", "Weber"),
    ]
    by_number = EmployeeFilter(
        QueryDict("ordering=-personnel_number"), queryset=Employee.objects.all(), user=hr_user(city)
    )
    assert str(by_number.qs.query).rpartition("ORDER BY")[2].count("personnel_number") == 1  # not twice

    drafts = [AgreementFactory() for _ in range(4)]
    for days, draft in enumerate(drafts):
        Agreement.objects.filter(pk=draft.pk).update(
            updated_at=draft.updated_at - datetime.timedelta(days=days)
        )
    by_status = AgreementFilter(QueryDict("ordering=status"), queryset=Agreement.objects.all())
    assert list(by_status.qs.values_list("pk", flat=True)) == [
        draft.pk for draft in drafts
    ]  # latest change first


def test_the_list_s_own_first_column_reversed_reverses_the_whole_order():
    """ "Name, descending" is the list read backwards (along the same index), not the last names backwards with
    first names forwards (a sort of every namesake)."""
    city = OrganisationFactory()
    for first_name in ("Anna", "Zoë", "Émile"):
        EmployeeFactory(organisation=city, last_name="Müller", first_name=first_name)
    EmployeeFactory(organisation=city, last_name="Abel", first_name="Max")
    user = hr_user(city)
    names = EmployeeFilter(QueryDict("ordering=-last_name"), queryset=Employee.objects.all(), user=user).qs
    assert [(e.last_name, e.first_name) for e in names] == [
        ("Müller", "Zoë"),
        ("Müller", "Émile"),
        ("Müller", "Anna"),
        ("Abel", "Max"),
    ]


def test_a_search_longer_than_a_hundred_characters_is_refused_in_words(client):
    """The lists' search had no bound: a word of thousands of characters was searched as one trigram LIKE over
    every employee (or agreement, audit entry). Now the employee list, its export, the agreement list, the audit
    log's object search and the enrolment page's employee search take at most 100 characters and say so, in German; 100 still search."""
    from trainings.forms import EmployeeFilterForm

    city = OrganisationFactory()
    employee = EmployeeFactory(organisation=city, last_name="Kowalski")
    client.force_login(hr_user(city))
    long_word = "k" * 101
    message = "Bitte suchen Sie mit höchstens 100 Zeichen (eingegeben: 101)."
    refused = client.get(reverse("employee_list"), {"q": long_word})
    assert refused.status_code == 200
    assert message in refused.text
    assert list(refused.context["object_list"]) == []
    assert 'maxlength="100"' in refused.text  # the browser's input takes no more either
    export = client.get(reverse("employee_export", args=["csv"]), {"q": long_word})
    assert export.status_code == 302  # back to the list, which says why
    found = client.get(reverse("employee_list"), {"q": "Kowalski " + "x" * 91})
    assert "Bitte suchen Sie" not in found.text
    rows = client.get(reverse("employee_list"), {"q": "Kowalski"}).context["object_list"]
    assert [row["pk"] for row in rows] == [employee.pk]
    client.force_login(ministry_user())
    agreements = client.get(reverse("partnerships:index"), {"q": long_word})
    assert message in agreements.text
    assert message in client.get(reverse("audit_log"), {"object_repr": long_word}).text
    assert not AgreementFilter(QueryDict(f"q={long_word}"), queryset=Agreement.objects.all()).is_valid()
    form = EmployeeFilterForm({"q": long_word}, organisation_ids=[city.pk])
    assert form.errors["q"] == [message]
