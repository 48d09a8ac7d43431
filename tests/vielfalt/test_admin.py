"""Every change the Django admin makes is in the audit log, like a change through the portal's services."""

import pytest
from django.urls import reverse

from tests.factories import EmployeeFactory, OrganisationFactory, UserFactory
from tests.helpers import form_data
from vielfalt.models import AuditEntry, Employee

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    user = UserFactory(username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


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
    from django.db import connection
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
