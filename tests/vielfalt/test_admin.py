"""Every change the Django admin makes is in the audit log, like a change through the portal's services."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.db import connection
from django.urls import reverse

from tests.conftest import need
from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory, many_employees
from tests.helpers import form_data, statements_with
from vielfalt.models import AuditEntry, Employee, Membership, Organisation, Role
from vielfalt.programme.privacy import employee_erase

pytestmark = pytest.mark.django_db


def test_an_employee_changed_and_deleted_in_the_admin_is_audited(client, superuser):
    city = OrganisationFactory()
    employee = EmployeeFactory(organisation=city, last_name="Schmidt")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_employee_change", args=[employee.pk])
    data = form_data(client.get(url).content.decode(), "employee_form")
    data["last_name"] = "Schmidt-Öztürk"
    assert client.post(url, data).status_code == 302
    changed = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE)
    assert (changed.actor, changed.organisation, changed.object_id) == (superuser, city, str(employee.pk))
    assert changed.changes == {"via": "admin", "last_name": ["Schmidt", "Schmidt-Öztürk"]}

    employee.refresh_from_db()
    delete_url = reverse("admin:vielfalt_employee_delete", args=[employee.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Employee.objects.filter(pk=employee.pk).exists()
    deleted = AuditEntry.objects.get(action=AuditEntry.Action.DELETE)
    assert (deleted.actor, deleted.organisation, deleted.object_repr) == (superuser, city, str(employee))


def test_a_bulk_delete_in_the_admin_is_audited_per_object(client, superuser):
    city = OrganisationFactory()
    employees = EmployeeFactory.create_batch(3, organisation=city)
    client.force_login(superuser)
    response = client.post(
        reverse("admin:vielfalt_employee_changelist"),
        {"action": "delete_selected", "_selected_action": [e.pk for e in employees], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(
        AuditEntry.objects.filter(action=AuditEntry.Action.DELETE).values_list("object_id", flat=True)
    ) == sorted(str(e.pk) for e in employees)


def test_an_unchanged_save_leaves_no_entry(client, superuser):
    employee = EmployeeFactory()
    client.force_login(superuser)
    url = reverse("admin:vielfalt_employee_change", args=[employee.pk])
    assert client.post(url, form_data(client.get(url).content.decode(), "employee_form")).status_code == 302
    assert AuditEntry.objects.exclude(action=AuditEntry.Action.LOGIN).count() == 0


def test_a_password_set_in_the_admin_is_audited_without_the_password(client, superuser):
    user = UserFactory(username="hr-stadt")
    client.force_login(superuser)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = client.post(
        url,
        {
            "password1": "Ein-neues-Passwort-42",
            "password2": "Ein-neues-Passwort-42",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE)
    assert (entry.actor, entry.object_id, entry.changes) == (
        superuser,
        str(user.pk),
        {"via": "admin", "password": "***"},
    )


def test_the_audit_logs_list_reads_no_dates_of_the_whole_log_and_counts_once(client, superuser):
    from django.test.utils import CaptureQueriesContext

    from vielfalt.audit import audit_record

    for name in ("hr-17", "hr-170"):
        audit_record(
            actor=UserFactory(username=name), action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte"
        )
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:vielfalt_auditentry_changelist"), {"q": "HR-17"})
    assert response.status_code == 200
    log = [query["sql"] for query in queries.captured_queries if "vielfalt_auditentry" in query["sql"]]
    assert not [sql for sql in log if "DISTINCT" in sql], log  # no date hierarchy's years of every entry
    assert len([sql for sql in log if "COUNT(" in sql]) == 1, log
    assert "hr-17<" in response.text and "hr-170" not in response.text  # the user name as a whole


def _admin_names(client, query) -> list[str]:
    response = client.get(reverse("admin:vielfalt_employee_changelist"), query)
    assert response.status_code == 200
    return re.findall(r'class="field-last_name">([^<]*)<', response.text)


def test_the_employee_admin_searches_as_the_employee_list_does(client, superuser):
    """Its search is the portal's (EmployeeQuerySet.search): one or two characters at the start of a word of a
    name, which the trigram indexes hold; Django's own search read every employee for them."""
    city = OrganisationFactory()
    for last_name in ["Lê", "Nguyễn-Lê", "Alê", "Müller"]:
        EmployeeFactory(organisation=city, last_name=last_name)
    client.force_login(superuser)
    assert _admin_names(client, {"q": "lê"}) == ["Lê", "Nguyễn-Lê"]  # not Alê
    assert _admin_names(client, {"q": "LLER"}) == ["Müller"]  # three characters or more: anywhere
    assert _admin_names(client, {"q": "lê", "o": "-2"}) == ["Nguyễn-Lê", "Lê"]


def test_the_employee_admin_counts_its_matches_once_and_sorts_only_them(client, superuser):
    """A searched list counts its matches, not also every employee for "(n total)"; and it sorts the matches
    instead of walking the name order's index until a page of them turned up, which read every "Abel" before
    the first "Müller" (vielfalt.admin.SearchedEmployeeList)."""
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    abel, mueller = OrganisationFactory(), OrganisationFactory()
    many_employees([(abel, None)], 18_000, first_name="Ada", last_name="Abel")
    many_employees([(mueller, None)], 2_000, first_name="Ben", last_name="Müller")
    client.force_login(superuser)
    with statements_with('FROM "vielfalt_employee"') as statements:
        names = _admin_names(client, {"q": "müller"})
    assert len(names) == 100 and all(name.startswith("Müller ") for name in names), names
    assert names[:2] == ["Müller 1", "Müller 10"], names  # by name
    assert len([sql for sql, _ in statements if "COUNT(" in sql]) == 1, statements
    [(page, params)] = [(sql, params) for sql, params in statements if "LIMIT" in sql]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE) " + page, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "employee_search_last_name" in plan and "employee_name_order" not in plan, plan
    # The employees read from the table, matching or not, are the 2,000 matches: the 18,000 "Abel" stay unread.
    # (Not the index's candidates: those include other tests' rolled-back employees until a vacuum.)
    read = int(re.search(r"Bitmap Heap Scan on vielfalt_employee .*actual time=\S+ rows=(\d+)", plan)[1])
    removed = sum(int(n) for n in re.findall(r"Rows Removed by (?:Index Recheck|Filter): (\d+)", plan))
    assert read + removed <= 2_000, plan


def test_the_audit_admin_finds_one_or_two_characters_at_the_start_of_a_word(client, superuser):
    """As the portal's audit page (vielfalt.filters.object_search): the trigram index holds no piece of a text
    that short, and Django's search read the whole log for one."""
    from vielfalt.audit import audit_record

    for text in ("Lê, Anna", "Kurs (Lê Thị)", "Nguyễn-Lê, Minh", "Bolê, Eva"):
        audit_record(actor=superuser, action=AuditEntry.Action.EXPORT, object_repr=text)
    client.force_login(superuser)
    response = client.get(reverse("admin:vielfalt_auditentry_changelist"), {"q": "lê"})
    assert sorted(re.findall(r'class="field-object_repr">([^<]*)<', response.text)) == [
        "Kurs (Lê Thị)",
        "Lê, Anna",
        "Nguyễn-Lê, Minh",
    ]
    # The whole user name, which no description holds: the four exports and the login.
    response = client.get(reverse("admin:vielfalt_auditentry_changelist"), {"q": "ROOT"})
    assert len(re.findall(r'class="field-object_repr">', response.text)) == 5


def test_granting_and_withdrawing_roles_in_the_admin_names_them_in_the_audit_log(
    client, superuser, django_capture_on_commit_callbacks
):
    """An audit of access rights asks who gave whom which role where; the entry said "roles: 1 created"."""
    duisburg = OrganisationFactory(name="Stadt Duisburg")
    ministry = OrganisationFactory(name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    essen = OrganisationFactory(name="Stadt Essen")
    user = UserFactory(username="kim", roles=[(duisburg, Role.HR), (essen, Role.ORGANISER)])
    client.force_login(superuser)
    url = reverse("admin:vielfalt_user_change", args=[user.pk])
    data = form_data(client.get(url).content.decode(), "user_form")
    rows = {data[f"memberships-{i}-organisation"]: i for i in range(2)}
    data[f"memberships-{rows[str(duisburg.pk)]}-DELETE"] = "on"  # HR of Duisburg withdrawn
    data[f"memberships-{rows[str(essen.pk)]}-role"] = Role.HR  # organiser → HR in Essen
    data.update({"memberships-2-organisation": str(ministry.pk), "memberships-2-role": Role.MINISTRY})
    data["memberships-TOTAL_FORMS"] = "3"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(user.pk))
    assert entry.actor == superuser
    assert entry.changes["memberships"] == {
        "granted": "Beschäftigte des Ministeriums – MAIS NRW; Personalverwaltung – Stadt Essen",
        "withdrawn": "Personalverwaltung – Stadt Duisburg; Kursveranstalter – Stadt Essen",
    }
    # The holder is told: what they may do now, and a role given to their account without their knowing.
    [notice] = mail.outbox
    assert notice.to == [user.email]
    assert (
        "Die Rollen Ihres Zugangs wurden geändert: erteilt: Beschäftigte des Ministeriums – MAIS NRW; "
        "Personalverwaltung – Stadt Essen; entzogen: Personalverwaltung – Stadt Duisburg; Kursveranstalter – "
        "Stadt Essen."
    ) in notice.body
    assert "Administration des Portals vorgenommen" in notice.body

    # The list reviews who holds a role: filtered by it, with every role of each account.
    listing = client.get(
        reverse("admin:vielfalt_user_changelist"), {"memberships__role__exact": Role.MINISTRY}
    )
    assert re.findall(r'class="field-username"><a [^>]*>([^<]*)<', listing.text) == ["kim"]
    assert "Beschäftigte des Ministeriums – MAIS NRW; Personalverwaltung – Stadt Essen" in listing.text


def test_the_admin_keeps_no_log_of_its_own_and_its_history_is_the_audit_log(client, superuser):
    """Django's admin log kept "Yılmaz, Ayşe" for ever, beside the audit log that an erasure pseudonymises."""
    city = OrganisationFactory()
    employee = EmployeeFactory(organisation=city, first_name="Ayşe", last_name="Yılmaz", is_active=True)
    client.force_login(superuser)
    url = reverse("admin:vielfalt_employee_change", args=[employee.pk])
    data = form_data(client.get(url).content.decode(), "employee_form")
    data["last_name"] = "Yılmaz-Demir"
    assert client.post(url, data).status_code == 302
    assert not LogEntry.objects.exists()

    history_url = reverse("admin:vielfalt_employee_history", args=[employee.pk])
    history = client.get(history_url).content.decode()
    assert "Yılmaz → Yılmaz-Demir" in history
    assert superuser.username in history
    index = client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{url}">{employee.last_name}-Demir, Ayşe ({employee.personnel_number})</a>' in index

    data.pop("is_active", None)
    assert client.post(url, data, follow=True).status_code == 200  # its message read
    employee.refresh_from_db()
    employee_erase(actor=UserFactory(roles=[(city, Role.HR)]), employee=employee)
    for page in (history_url, reverse("admin:index")):
        assert "Yılmaz" not in client.get(page).content.decode()
    assert not LogEntry.objects.exists()


def test_the_admin_names_the_libraries_sections_for_administrators(client, superuser):
    """An administrator looking for a lost second factor found "OTP_TOTP" and "OTP_STATIC"."""
    client.force_login(superuser)
    index = client.get(reverse("admin:index")).content.decode()
    for name in (
        "Zweiter Faktor: Authenticator-Apps",
        "Zweiter Faktor: Wiederherstellungscodes (Static devices)",
        "Zweiter Faktor: Passkeys (WebAuthn)",
        "Anmeldungen und Fehlversuche (django-axes)",
        "Verwaltung des Portals",
    ):
        assert name in index
    for technical in ("Otp_Totp", "Otp_Static", "OTP WebAuthn", ">Axes</", "Website-Verwaltung"):
        assert technical not in index


def test_the_portals_own_app_configuration_is_the_one_in_use():
    """With the libraries' configurations beside it in vielfalt/apps.py, Django fell back to a bare AppConfig for
    the portal: its ready() never ran, and no login was audited."""
    from django.apps import apps
    from django.contrib.auth.signals import user_logged_in

    from vielfalt.apps import VielfaltConfig

    assert type(apps.get_app_config("vielfalt")) is VielfaltConfig
    assert "audit_login" in {key[0] for key, *_receiver in user_logged_in.receivers}


def test_an_employee_is_not_moved_to_another_organisation_in_the_admin(client, superuser):
    """The record stays with the organisation that keeps it (the employee form offers no other). Moved in the
    admin, the person's record, history and enrolments went to another city's HR office unasked, and their
    enrolments stayed counted for the first."""
    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    employee = EmployeeFactory(organisation=duisburg)
    client.force_login(superuser)
    url = reverse("admin:vielfalt_employee_change", args=[employee.pk])
    data = form_data(client.get(url).content.decode(), "employee_form")
    data.update(organisation=oberhausen.pk, org_unit="", last_name="Neu")
    assert client.post(url, data).status_code == 302
    employee.refresh_from_db()
    assert (employee.organisation, employee.last_name) == (duisburg, "Neu")


def test_the_ministry_role_is_granted_in_the_ministry_only(client, superuser):
    """The ministry's role reaches every organisation of the programme wherever it is held (vielfalt.permissions):
    granted as "Beschäftigte des Ministeriums – Stadt Duisburg", it read like Duisburg's and gave a city's clerk
    every partner's records."""
    duisburg = OrganisationFactory(name="Stadt Duisburg")
    ministry = OrganisationFactory(name="MAIS NRW", kind=Organisation.Kind.STATE_MINISTRY)
    user = UserFactory(username="kim", roles=[(duisburg, Role.HR)])
    client.force_login(superuser)
    url = reverse("admin:vielfalt_user_change", args=[user.pk])
    data = form_data(client.get(url).content.decode(), "user_form")
    data.update({"memberships-1-organisation": str(duisburg.pk), "memberships-1-role": Role.MINISTRY})
    data["memberships-TOTAL_FORMS"] = "2"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Die Rolle der Beschäftigten des Ministeriums gibt es nur im Ministerium." in response.text
    assert not Membership.objects.filter(user=user, role=Role.MINISTRY).exists()
    data["memberships-1-organisation"] = str(ministry.pk)
    assert client.post(url, data).status_code == 302
    assert Membership.objects.filter(user=user, role=Role.MINISTRY, organisation=ministry).exists()


def test_a_partner_is_not_made_the_state_ministry_in_the_admin(client, superuser):
    """As on the partner's profile (network.services.profile_update): a partner turned into the state ministry
    left the programme's partners, its profile page and every partner list, and its figures with them."""
    city = OrganisationFactory(name="Stadt Duisburg")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_organisation_change", args=[city.pk])
    data = form_data(client.get(url).content.decode(), "organisation_form")
    data["kind"] = Organisation.Kind.STATE_MINISTRY
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Ein Partner des Programms kann nicht das Landesministerium sein." in response.text
    city.refresh_from_db()
    assert city.kind == Organisation.Kind.CITY
    data["kind"] = Organisation.Kind.DISTRICT
    assert client.post(url, data).status_code == 302


def test_an_account_unlocked_in_the_admin_is_audited_and_login_records_are_not_deleted_there(
    client, superuser
):
    """django-axes's own admin pages deleted without a trace: an account unlocked before its cool-off (its failed
    attempts deleted), and the records of logins and failed logins, which the retention purge deletes after
    their period."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    meta = {"ip_address": "203.0.113.10", "user_agent": "Firefox", "http_accept": "*/*", "path_info": "/"}
    attempt = AccessAttempt.objects.create(
        username="miriam", failures_since_start=5, get_data="", post_data="", **meta
    )
    login = AccessLog.objects.create(username="miriam", **meta)
    failure = AccessFailureLog.objects.create(username="miriam", locked_out=True, **meta)
    client.force_login(superuser)
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DELETE)
    assert (entry.actor, entry.object_repr, entry.changes) == (
        superuser,
        "miriam",
        {"via": "admin", "unlocked": "miriam"},
    )
    for record in (login, failure):
        info = (record._meta.app_label, record._meta.model_name)
        delete = reverse("admin:{}_{}_delete".format(*info), args=[record.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert type(record).objects.filter(pk=record.pk).exists()


def test_the_staff_flag_and_model_permissions_alone_do_not_open_the_admin(client):
    """Django's admin let in anyone with the staff flag and showed what their model permissions allowed: a
    Duisburg clerk given the flag and "view employee" browsed every organisation's staff."""
    from django.contrib.auth.models import Permission

    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    EmployeeFactory(organisation=oberhausen, last_name="Öztürk")
    clerk = UserFactory(username="hr-duisburg", is_staff=True, roles=[(duisburg, Role.HR)])
    clerk.user_permissions.add(Permission.objects.get(codename="view_employee"))
    client.force_login(clerk)
    response = client.get(reverse("admin:vielfalt_employee_changelist"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("admin:index")).status_code == 302

    administrator = UserFactory(username="verwaltung", is_staff=True, is_superuser=True)
    client.force_login(administrator)
    assert client.get(reverse("admin:vielfalt_employee_changelist")).status_code == 200


def test_an_account_is_deactivated_in_the_admin_not_deleted(
    client, superuser, django_capture_on_commit_callbacks
):
    """Deleted in the admin, an account's roles went with it unrecorded, its registrations stayed, and the
    retention's deactivation and pseudonymisation (vielfalt.privacy) were skipped. It is deactivated instead."""
    city = OrganisationFactory()
    user = UserFactory(username="kim", roles=[(city, Role.HR)])
    client.force_login(superuser)
    assert (
        client.post(reverse("admin:vielfalt_user_delete", args=[user.pk]), {"post": "yes"}).status_code == 403
    )
    changelist = reverse("admin:vielfalt_user_changelist")
    response = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"}
    )
    assert "delete_selected" not in client.get(changelist).text
    assert response.status_code == 302 and Membership.objects.filter(user=user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            changelist, {"action": "deactivate", "_selected_action": [user.pk]}, follow=True
        )
    assert "1 Zugang deaktiviert." in response.text
    user.refresh_from_db()
    assert not user.is_active and user.deactivated_at is not None
    assert Membership.objects.filter(
        user=user
    ).exists()  # until the retention period pseudonymises the account
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE, object_id=str(user.pk))
    assert (entry.actor, entry.changes) == (superuser, {"via": "admin", "is_active": [True, False]})


def test_an_organisation_with_records_is_not_deleted_in_the_admin(client, superuser):
    """Its roles (the accounts' memberships) and units went with it unrecorded."""
    city = OrganisationFactory(name="Stadt Duisburg")
    UserFactory(roles=[(city, Role.HR)])
    empty = OrganisationFactory(name="Angelegt aus Versehen")
    client.force_login(superuser)
    url = reverse("admin:vielfalt_organisation_delete", args=[city.pk])
    page = client.get(url).text
    assert "Daten (Rollen: 1): Eine Organisation mit Daten wird hier nicht gelöscht." in page
    assert client.post(url, {"post": "yes"}).status_code == 200
    changelist = reverse("admin:vielfalt_organisation_changelist")
    response = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [city.pk], "post": "yes"}
    )
    assert response.status_code == 200
    assert (
        Organisation.objects.filter(pk=city.pk).exists()
        and Membership.objects.filter(organisation=city).exists()
    )

    delete_empty = reverse("admin:vielfalt_organisation_delete", args=[empty.pk])
    assert client.post(delete_empty, {"post": "yes"}).status_code == 302
    assert not Organisation.objects.filter(pk=empty.pk).exists()


def test_an_org_units_parent_is_one_of_its_own_organisations_in_the_admin(client, superuser):
    """The admin offered every organisation's units as the parent and saved one from another organisation. It
    offers the unit's own organisation's now (tests/vielfalt/test_org_units.py); the model refuses another's."""
    from django.core.exceptions import ValidationError

    from tests.factories import OrgUnitFactory
    from vielfalt.models import OrgUnit

    duisburg, oberhausen = OrganisationFactory(), OrganisationFactory()
    unit = OrgUnitFactory(organisation=duisburg, name="Personalamt")
    theirs, own = OrgUnitFactory(organisation=oberhausen), OrgUnitFactory(organisation=duisburg)
    client.force_login(superuser)
    url = reverse("admin:vielfalt_orgunit_change", args=[unit.pk])
    data = form_data(client.get(url).text, "orgunit_form")
    data["parent"] = str(theirs.pk)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Bitte eine gültige Auswahl treffen." in response.text
    assert OrgUnit.objects.get(pk=unit.pk).parent is None
    unit.parent = theirs
    with pytest.raises(
        ValidationError, match="Die übergeordnete Einheit gehört zu einer anderen Organisation."
    ):
        unit.full_clean()
    data["parent"] = str(own.pk)
    assert client.post(url, data).status_code == 302
    assert OrgUnit.objects.get(pk=unit.pk).parent == own


def test_the_admin_does_not_deactivate_its_own_account_with_the_others(client, superuser):
    other = UserFactory(username="kim")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:vielfalt_user_changelist"),
        {"action": "deactivate", "_selected_action": [other.pk, superuser.pk]},
        follow=True,
    )
    assert "Ihr eigener Zugang wird hier nicht deaktiviert." in response.text
    assert "1 Zugang deaktiviert." in response.text
    superuser.refresh_from_db()
    other.refresh_from_db()
    assert (superuser.is_active, other.is_active) == (True, False)
