"""Anonymised application procedures: constraints, services with audit entries, scoped pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partnerships.models import AnonymisedProcedure
from partnerships.services import procedure_create, procedure_update
from tests.factories import UserFactory
from tests.helpers import assert_links_open, page_links
from vielfalt.audit import audit_entries_for
from vielfalt.models import AuditEntry, Role

pytestmark = pytest.mark.django_db

DAY = datetime.date(2014, 5, 2)


def make(organisation, **fields):
    values = {
        "post": "Sachbearbeitung Bürgeramt",
        "held_on": DAY,
        "method": AnonymisedProcedure.Method.STANDARD_FORM,
        "applications": 40,
        "invited": 8,
        "posts_filled": 2,
        **fields,
    }
    return AnonymisedProcedure.objects.create(organisation=organisation, **values)


def form_data(organisation, **fields):
    return {
        "organisation": organisation.pk,
        "org_unit": "",
        "post": "Sachbearbeitung Bürgeramt",
        "held_on": "2014-05-02",
        "method": "blanked_fields",
        "applications": "30",
        "invited": "6",
        "posts_filled": "1",
        "stated_migration_background": "",
        **fields,
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"applications": 3, "invited": 4, "posts_filled": 1},
        {"applications": 10, "invited": 4, "posts_filled": 5},
        {"applications": 10, "invited": 4, "posts_filled": -1},
        {"applications": 10, "invited": 4, "posts_filled": 1, "stated_migration_background": 11},
    ],
)
def test_database_refuses_impossible_counts(duisburg, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        make(duisburg, **fields)


def test_create_and_update_are_audited(hr_duisburg, duisburg):
    procedure = procedure_create(
        actor=hr_duisburg,
        organisation=duisburg,
        post="Ausbildung Verwaltungsfachangestellte",
        held_on=DAY,
        method=AnonymisedProcedure.Method.REDACTED_COPIES,
        applications=120,
        invited=20,
        posts_filled=6,
        stated_migration_background=30,
    )
    procedure_update(actor=hr_duisburg, procedure=procedure, posts_filled=7)
    actions = [entry.action for entry in audit_entries_for(procedure)]
    assert actions == [AuditEntry.Action.CHANGE, AuditEntry.Action.CREATE]
    assert audit_entries_for(procedure).first().changes == {"posts_filled": [6, 7]}


def create_one(actor, organisation, **fields):
    return procedure_create(
        actor=actor,
        organisation=organisation,
        post="Stelle",
        held_on=DAY,
        method="standard_form",
        applications=1,
        invited=1,
        posts_filled=1,
        **fields,
    )


def test_only_the_partners_hr_records(hr_oberhausen, staff, duisburg):
    for actor in (hr_oberhausen, staff):
        with pytest.raises(PermissionDenied):
            create_one(actor, duisburg)


def test_the_ministrys_own_hr_records_no_procedure_of_its_own(ministry, duisburg):
    """HR of the ministry's own organisation (its employees and courses) is no partner's HR: the services refuse
    a procedure of the ministry, not only the pages (which offer none)."""
    ministry_hr = UserFactory(roles=[(ministry, Role.MINISTRY), (ministry, Role.HR)])
    with pytest.raises(PermissionDenied):
        create_one(ministry_hr, ministry)
    recorded = make(ministry)  # one recorded before the rule (as the demo data's script could)
    with pytest.raises(PermissionDenied):
        procedure_update(actor=ministry_hr, procedure=recorded, applications=2)


def test_service_refuses_unit_of_another_organisation(hr_duisburg, duisburg, oberhausen):
    unit = oberhausen.units.create(name="Amt 1")
    with pytest.raises(ValidationError):
        create_one(hr_duisburg, duisburg, org_unit=unit)


def test_the_admin_refuses_a_unit_of_another_organisation(
    client, superuser, hr_duisburg, duisburg, oberhausen
):
    """As the service does: a procedure of Duisburg filed under an Oberhausen unit counted in Duisburg's figures
    under a unit it does not have."""
    procedure = create_one(hr_duisburg, duisburg)
    unit = oberhausen.units.create(name="Amt 1")
    client.force_login(superuser)
    url = reverse("admin:partnerships_anonymisedprocedure_change", args=[procedure.pk])
    data = {
        "organisation": duisburg.pk,
        "org_unit": unit.pk,
        "post": "Stelle",
        "held_on": DAY.strftime("%d.%m.%Y"),
        "method": "standard_form",
        "applications": "1",
        "invited": "1",
        "posts_filled": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Die Organisationseinheit muss zur Organisation gehören." in response.text
    procedure.refresh_from_db()
    assert procedure.org_unit is None


@pytest.mark.parametrize(
    ("stated", "applications", "shown"),
    [(None, 40, None), (4, 40, None), (36, 40, None), (5, 40, 5), (20, 40, 20)],
)
def test_stated_migration_background_is_suppressed_under_k(duisburg, stated, applications, shown):
    procedure = make(duisburg, applications=applications, stated_migration_background=stated)
    assert procedure.stated_migration_background_shown == shown


def test_hr_lists_only_its_own_and_ministry_all(client, hr_duisburg, staff, duisburg, oberhausen):
    own = make(duisburg)
    foreign = make(oberhausen, post="Stelle Oberhausen")
    client.force_login(hr_duisburg)
    response = client.get(reverse("partnerships:procedure_list"))
    assert [p.pk for p in response.context["object_list"]] == [own.pk]
    assert "Stelle Oberhausen" not in response.text
    assert client.get(reverse("partnerships:procedure_update", args=[foreign.pk])).status_code == 404
    client.force_login(staff)
    response = client.get(reverse("partnerships:procedure_list"))
    assert sorted(p.pk for p in response.context["object_list"]) == sorted([own.pk, foreign.pk])
    # The ministry reads; recording is the partner's.
    assert client.get(reverse("partnerships:procedure_update", args=[own.pk])).status_code == 403


def test_list_filters_by_organisation_and_year(client, staff, duisburg, oberhausen):
    make(duisburg)
    later = make(duisburg, held_on=datetime.date(2015, 1, 5))
    make(oberhausen)
    client.force_login(staff)
    url = reverse("partnerships:procedure_list")
    response = client.get(url, {"organisation": duisburg.pk, "year": 2015})
    assert [p.pk for p in response.context["object_list"]] == [later.pk]


def test_list_query_count_does_not_grow(client, hr_duisburg, duisburg):
    unit = duisburg.units.create(name="Amt für Personal")
    client.force_login(hr_duisburg)
    url = reverse("partnerships:procedure_list")
    client.get(url)  # the first request of a session reads more (session, language)
    counts = []
    for index in range(3):
        make(duisburg, org_unit=unit, post=f"Stelle {index}", stated_migration_background=10)
        if index in (0, 2):
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert len(response.context["object_list"]) == index + 1
            counts.append(len(captured))
    assert counts[0] == counts[1]


def test_create_through_the_page(client, hr_duisburg, duisburg):
    client.force_login(hr_duisburg)
    response = client.post(reverse("partnerships:procedure_create"), form_data(duisburg))
    assert response.status_code == 302
    procedure = AnonymisedProcedure.objects.get()
    assert (procedure.organisation, procedure.applications, procedure.posts_filled) == (duisburg, 30, 1)
    assert (
        AuditEntry.objects.filter(object_id=str(procedure.pk), action=AuditEntry.Action.CREATE).count() == 1
    )


def test_page_shows_errors_for_impossible_counts(client, hr_duisburg, duisburg):
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("partnerships:procedure_create"), form_data(duisburg, invited="40", posts_filled="50")
    )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"invited", "posts_filled"}
    assert AnonymisedProcedure.objects.count() == 0


def test_hr_cannot_record_for_another_organisation(client, hr_duisburg, oberhausen):
    client.force_login(hr_duisburg)
    response = client.post(reverse("partnerships:procedure_create"), form_data(oberhausen))
    assert response.status_code == 422
    assert "organisation" in response.context["form"].errors


def test_edit_through_the_page(client, hr_duisburg, duisburg):
    procedure = make(duisburg)
    client.force_login(hr_duisburg)
    response = client.post(
        reverse("partnerships:procedure_update", args=[procedure.pk]),
        form_data(duisburg, applications="40", invited="8", posts_filled="3"),
    )
    assert response.status_code == 302
    procedure.refresh_from_db()
    assert procedure.posts_filled == 3


def procedure_links(html: str) -> list[str]:
    create = reverse("partnerships:procedure_create")
    return [
        link for link in page_links(html) if link.startswith(create.removesuffix("new/")) and link != create
    ]


def test_ministry_with_hr_of_its_own_organisation_sees_no_link_that_fails(
    client, ministry, duisburg, oberhausen
):
    """The demo's `ministerium`: ministry staff and HR of the ministry's own organisation. The ministry records
    no procedures (they are the partners'), so the list links to none, and the empty form answers 403."""
    make(duisburg)
    make(oberhausen, post="Stelle Oberhausen")
    user = UserFactory(username="ministerium", roles=[(ministry, Role.MINISTRY), (ministry, Role.HR)])
    client.force_login(user)
    response = client.get(reverse("partnerships:procedure_list"))
    assert len(response.context["object_list"]) == 2
    assert procedure_links(response.text) == []
    assert reverse("partnerships:procedure_create") not in page_links(response.text)
    assert_links_open(client, response.text)
    assert client.get(reverse("partnerships:procedure_create")).status_code == 403


def test_hr_of_a_partner_and_the_ministry_links_its_own_procedures_only(
    client, ministry, duisburg, oberhausen
):
    own = make(duisburg)
    make(oberhausen, post="Stelle Oberhausen")
    user = UserFactory(roles=[(ministry, Role.MINISTRY), (duisburg, Role.HR)])
    client.force_login(user)
    response = client.get(reverse("partnerships:procedure_list"))
    assert len(response.context["object_list"]) == 2
    assert procedure_links(response.text) == [own.get_absolute_url()]
    assert reverse("partnerships:procedure_create") in page_links(response.text)
    assert_links_open(client, response.text)
    form = client.get(reverse("partnerships:procedure_create")).context["form"]
    assert list(form.fields["organisation"].queryset) == [duisburg]


def test_administrator_links_every_partners_procedures(client, admin_user, duisburg, oberhausen):
    procedures = [make(duisburg), make(oberhausen, post="Stelle Oberhausen")]
    client.force_login(admin_user)
    response = client.get(reverse("partnerships:procedure_list"))
    assert sorted(procedure_links(response.text)) == sorted(p.get_absolute_url() for p in procedures)
    assert_links_open(client, response.text)


def test_a_colleague_correcting_the_procedure_meanwhile_is_not_undone(duisburg):
    """Two of a city's HR staff correct the same procedure: the second save undid the first
    (vielfalt.concurrency)."""
    from tests.factories import hr_user
    from tests.helpers import form_data as page_form
    from tests.helpers import opened_forms

    procedure = make(duisburg)
    url = reverse("partnerships:procedure_update", args=[procedure.pk])
    (first, mine), (second, theirs) = opened_forms(
        url, hr_user(duisburg, username="hr-duisburg-1"), hr_user(duisburg, username="hr-duisburg-2")
    )
    mine["posts_filled"] = "3"
    assert first.post(url, mine).status_code == 302
    theirs["invited"] = "9"
    response = second.post(url, theirs)
    assert response.status_code == 422
    assert "hr-duisburg-1 hat diesen Datensatz am" in response.content.decode()
    procedure.refresh_from_db()
    assert (procedure.posts_filled, procedure.invited) == (3, 8)
    again = page_form(response.content.decode())
    assert again["invited"] == "9"
    assert second.post(url, again).status_code == 302
