import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy, gettext_noop

from tests.factories import EmployeeFactory, OrganisationFactory, hr_user, ministry_user
from vielfalt.audit import ChangeReader, actor_text, audit_record, record_text
from vielfalt.models import AuditEntry, Employee, Organisation, TargetGroup
from vielfalt.services import employees_import_file

pytestmark = pytest.mark.django_db


def test_entries_cannot_be_changed_or_deleted_through_the_orm():
    entry = audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte")
    entry.object_repr = "nichts"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().update(object_repr="nichts")
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().object_repr == "Beschäftigte"


def test_postgres_refuses_updates_and_deletes_in_the_database(postgres):
    audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte")
    for statement in ("UPDATE vielfalt_auditentry SET object_repr = 'x'", "DELETE FROM vielfalt_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.get().object_repr == "Beschäftigte"


def test_employee_changes_are_recorded_with_who_and_what(client):
    city = OrganisationFactory()
    user = hr_user(city, username="hr-stadt")
    employee = EmployeeFactory(organisation=city, last_name="Schmidt")
    client.force_login(user)
    response = client.post(
        reverse("employee_update", args=[employee.pk]),
        {
            "personnel_number": employee.personnel_number,
            "first_name": employee.first_name,
            "last_name": "Schmidt-Öztürk",
            "email": "",
            "org_unit": employee.org_unit_id,
            "target_group": "manager",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CHANGE)
    assert (entry.actor, entry.actor_name, entry.organisation) == (user, "hr-stadt", city)
    assert entry.changes["last_name"] == ["Schmidt", "Schmidt-Öztürk"]
    assert entry.changes["target_group"] == ["public_facing", "manager"]


def test_the_administrator_reads_the_whole_log_the_ministry_its_part_and_hr_nothing(client, superuser):
    """A city's export of its employees is the city's matter: the administrator reads it, the ministry opens the
    log without it (AuditEntry.visible_to: the partnership and its own staff), a city's HR not at all."""
    city = OrganisationFactory()
    audit_record(
        actor=hr_user(city),
        action=AuditEntry.Action.EXPORT,
        organisation=city,
        object_repr="Beschäftigte (CSV)",
    )
    client.force_login(superuser)
    assert "Beschäftigte (CSV)" in client.get(reverse("audit_log")).text
    client.force_login(ministry_user())
    response = client.get(reverse("audit_log"))
    assert response.status_code == 200
    assert "Beschäftigte (CSV)" not in response.text
    client.force_login(hr_user(city))
    assert client.get(reverse("audit_log")).status_code == 403


def test_audit_log_has_no_write_path_in_the_admin(admin_client):
    entry = audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="x")
    assert admin_client.get(reverse("admin:vielfalt_auditentry_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:vielfalt_auditentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:vielfalt_auditentry_delete", args=[entry.pk])).status_code == 403


def test_postgres_refuses_truncating_the_audit_log(postgres):
    audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The test's own transaction holds the entry's deferred foreign key checks; TRUNCATE waits for none.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE vielfalt_auditentry CASCADE")
    assert AuditEntry.objects.get().object_repr == "Beschäftigte"


@pytest.mark.django_db
def test_audit_log_shows_labels_not_stored_values():
    from django.contrib.contenttypes.models import ContentType
    from django.utils import translation

    from trainings.models import Enrolment
    from vielfalt.models import AuditEntry
    from vielfalt.templatetags.vielfalt_tags import readable_changes

    entry = AuditEntry(
        content_type_id=ContentType.objects.get_for_model(Enrolment).pk,
        changes={"attendance": ["unknown", "no_show"], "enrolments_cancelled": 3},
    )
    with translation.override("de"):
        rows = readable_changes(entry)
        expected = [
            (
                str(Enrolment._meta.get_field("attendance").verbose_name).capitalize(),
                f"{Enrolment.Attendance.UNKNOWN.label} → {Enrolment.Attendance.NO_SHOW.label}",
            ),
            ("Abgesagte Anmeldungen", "3"),
        ]
    assert rows == expected
    assert "no_show" not in str(rows)


def test_the_log_shows_each_change_in_words_escaped_and_the_organisation(client, superuser):
    city = OrganisationFactory(name="Stadt <Duisburg>")
    employee = EmployeeFactory(organisation=city)
    audit_record(
        actor=None,
        action=AuditEntry.Action.CHANGE,
        obj=employee,
        organisation=city,
        changes={"last_name": ["<b>Schmidt</b>", "Schmidt-Öztürk"]},
        object_repr="Schmidt & Co",
    )
    audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="Beschäftigte (CSV)")
    client.force_login(superuser)
    text = client.get(reverse("audit_log")).text
    assert (
        '<div><span class="text-body-secondary">Nachname:</span> &lt;b&gt;Schmidt&lt;/b&gt; → Schmidt-Öztürk</div>'
        in text
    )
    assert "<td>Schmidt &amp; Co</td>" in text
    assert "<td>Stadt &lt;Duisburg&gt;</td>" in text
    assert "<td>geändert</td>" in text


def test_the_log_query_count_does_not_grow_with_entries(client, superuser, django_assert_num_queries):
    from django.test.utils import CaptureQueriesContext

    client.force_login(superuser)
    audit_record(actor=None, action=AuditEntry.Action.EXPORT, object_repr="eins")
    client.get(reverse("audit_log"))  # warm up (session, content types)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("audit_log")).status_code == 200
    employee = EmployeeFactory()
    for name in ("zwei", "drei"):
        audit_record(
            actor=None, action=AuditEntry.Action.CHANGE, obj=employee, changes={"last_name": [name, "x"]}
        )
    with django_assert_num_queries(len(one.captured_queries)):
        assert client.get(reverse("audit_log")).status_code == 200


def test_a_page_of_the_log_looks_up_each_changed_field_once(client, superuser, monkeypatch):
    """40 entries that changed the same two fields: their labels and choices are read once for the page, not
    per entry through a model instance built for each (which was half the CPU of an audit page)."""
    from django.db.models.options import Options

    from vielfalt.models import Employee, TargetGroup

    employee = EmployeeFactory()
    for _ in range(40):
        audit_record(
            actor=None,
            action=AuditEntry.Action.CHANGE,
            obj=employee,
            changes={"target_group": ["other", "trainee"], "last_name": ["A", "B"]},
        )
    client.force_login(superuser)
    looked_up = []
    get_field = Options.get_field

    def counting(self, field_name):
        if self.model is Employee and field_name in ("target_group", "last_name"):
            looked_up.append(field_name)
        return get_field(self, field_name)

    monkeypatch.setattr(Options, "get_field", counting)
    for language, surname in (("de", "Nachname"), ("en", "Last name")):
        looked_up.clear()
        with translation.override(language):
            other, trainee = str(TargetGroup.OTHER.label), str(TargetGroup.TRAINEE.label)
        text = client.get(reverse("audit_log"), headers={"accept-language": language}).text
        assert sorted(looked_up) == ["last_name", "target_group"]
        assert text.count(f"{surname}:</span> A → B</div>") == 40
        assert text.count(f"{other} → {trainee}</div>") == 40


# --- Changes in words, in the reader's language -----------------------------------------------------------------


def _profile_entry():
    """A partner profile's change as the service records it: a boolean, a list of choices and a choice."""
    from partnerships.network.models import FieldOfAction
    from partnerships.network.services import profile_update

    city = OrganisationFactory(kind=Organisation.Kind.CITY)
    profile_update(
        actor=ministry_user(),
        organisation=city,
        kind=Organisation.Kind.DISTRICT,
        fields_of_action=[FieldOfAction.SENSITISATION, FieldOfAction.JOINT_TRAINING],
        open_for_visits=True,
    )
    return AuditEntry.objects.get(action=AuditEntry.Action.CHANGE)


def test_changes_are_recorded_as_what_they_mean_not_as_text():
    entry = _profile_entry()
    assert entry.changes == {
        "open_for_visits": [False, True],
        "fields_of_action": [[], ["sensitisation", "joint_training"]],
        "kind": ["city", "district"],
    }


def test_the_log_shows_booleans_choices_and_lists_of_choices_in_german(client):
    _profile_entry()
    client.force_login(ministry_user())
    text = client.get(reverse("audit_log")).text
    assert "Offen für Besuche und Hospitationen:</span> nein → ja</div>" in text
    assert (
        "Handlungsfelder:</span> – → Interkulturelle Sensibilisierung, Gemeinsame Schulungen mit anderen Partnern"
        "</div>"
    ) in text
    with translation.override("de"):
        kind = f"{Organisation.Kind.CITY.label} → {Organisation.Kind.DISTRICT.label}</div>"
    assert kind in text
    assert "False" not in text and "FieldOfAction" not in text and "sensitisation" not in text


def test_the_log_shows_the_changes_in_english_to_an_english_reader(client):
    _profile_entry()
    client.force_login(ministry_user())
    text = client.get(reverse("audit_log"), headers={"accept-language": "en"}).text
    assert "Open for visits and job shadowing:</span> no → yes</div>" in text
    assert (
        "Fields of action:</span> – → Intercultural sensitisation, Joint training with other partners</div>"
    ) in text


def test_entries_written_before_values_were_recorded_as_json_read_the_same():
    """Production logs hold `str()` of the values (append-only: never rewritten)."""
    from partnerships.network.models import PartnerProfile

    entry = AuditEntry(
        content_type_id=ContentType.objects.get_for_model(PartnerProfile).pk,
        changes={
            "open_for_visits": ["False", "True"],
            "fields_of_action": ["[]", "[FieldOfAction.SENSITISATION, FieldOfAction.JOINT_TRAINING]"],
            "website": ["", "https://www.duisburg.de"],
        },
    )
    with translation.override("de"):
        rows = ChangeReader()(entry.content_type_id, entry.changes)
    assert rows == [
        ("Offen für Besuche und Hospitationen", "nein → ja"),
        (
            "Handlungsfelder",
            "– → Interkulturelle Sensibilisierung, Gemeinsame Schulungen mit anderen Partnern",
        ),
        ("Website", "– → https://www.duisburg.de"),
    ]


def test_keys_of_no_field_and_fields_since_removed_read_as_well_as_they_can():
    from surveys.models import Campaign

    campaign = ContentType.objects.get_for_model(Campaign).pk
    gone = ContentType.objects.create(app_label="vielfalt", model="removedmodel").pk
    employee = ContentType.objects.get_for_model(Employee).pk
    reader = ChangeReader()
    with translation.override("de"):
        assert reader(campaign, {"invitations": 40}) == [("Einladungen", "40")]
        assert reader(None, {"employees": 2, "audit_entries": 5}) == [
            ("Beschäftigte", "2"),
            ("Protokolleinträge", "5"),
        ]
        assert reader(employee, {"salary_band": ["A 12", "A 13"], "was_trained": [False, True]}) == [
            ("Salary band", "A 12 → A 13"),
            ("Was trained", "nein → ja"),
        ]
        assert reader(gone, {"colour": ["red", None], "tags": ["x", "y", "z"]}) == [
            ("Colour", "red → –"),
            ("Tags", "x, y, z"),
        ]
    with translation.override("en"):
        assert ChangeReader()(campaign, {"invitations": 40}) == [("Invitations", "40")]


def test_the_system_actor_is_named_in_the_readers_language(client, superuser):
    from vielfalt.permissions import SYSTEM

    audit_record(actor=SYSTEM, action=AuditEntry.Action.EXPORT, object_repr="Nachtlauf")
    assert AuditEntry.objects.get().actor_name == "system"  # stored as it was, untranslated
    client.force_login(superuser)
    assert "<td>System</td>" in client.get(reverse("audit_log")).text
    with translation.override("de"):
        assert actor_text("system", None) == "System"
        assert actor_text("system", 7) == "system"  # a person who chose that user name
        assert actor_text("", None) == "–"


def test_the_access_page_shows_changes_and_the_system_in_words(client):
    from vielfalt.permissions import SYSTEM
    from vielfalt.services import employee_update

    city = OrganisationFactory()
    employee = EmployeeFactory(organisation=city, target_group=TargetGroup.PUBLIC_FACING, is_active=True)
    employee_update(actor=SYSTEM, employee=employee, target_group=TargetGroup.MANAGER, is_active=False)
    client.force_login(hr_user(city))
    text = client.get(reverse("employee_access", args=[employee.pk])).text
    details = text.split('<dt class="col-sm-4">Details</dt><dd class="col-sm-8">')[1].split("</dd>")[0]
    assert sorted(details.split("; ")) == [
        "Aktiv: ja → nein",
        "Zielgruppe: Beschäftigte mit Publikumskontakt → Führungskräfte",
    ]
    assert '<dd class="col-sm-8">System</dd>' in text
    assert "public_facing" not in text and "True" not in text


def test_a_description_is_written_in_the_portal_s_language_whatever_the_actor_reads():
    """Written in the actor's language, the log held "Employees of …" beside "Beschäftigte der Organisation …"
    for the same kind of event, and a search for either missed the other (vielfalt.audit.record_text)."""
    city = OrganisationFactory(name="Stadt Duisburg")
    data = "Personalnummer;Nachname;Vorname\r\nDU-1;Yılmaz;Ayşe\r\n".encode("utf-8-sig")
    with translation.override("en"):
        employees_import_file(actor=hr_user(city), organisation=city, data=data)
        assert record_text(gettext_noop("Retention purge")) == "Löschlauf"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.IMPORT)
    assert entry.object_repr == "Beschäftigte der Organisation Stadt Duisburg"


def test_a_text_put_into_a_description_is_in_the_portal_s_language_too():
    with translation.override("en"):
        text = record_text(
            gettext_noop("Code sheets of %(unit)s reprinted for %(campaign)s"),
            unit=gettext_lazy("staff without an org unit"),
            campaign="Befragung 2026",
        )
    assert text == "Codeblätter von Beschäftigte ohne Organisationseinheit neu gedruckt für Befragung 2026"
